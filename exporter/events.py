"""Normalized events: the one shape every collector emits and every detection rule reads.

A collector turns what a platform API answered into events. ``kind`` says how detection treats
the event: a *state* event describes something that is true right now (an Admin API listening
on plain HTTP) and is re-emitted on every poll for as long as it holds; a *change* event
describes something that happened once (a plugin was modified) and is emitted exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["state", "change"]


@dataclass(frozen=True, slots=True)
class Event:
    """One observation from one platform, in the shape the seed's rules are written against.

    ``source`` and ``event_type`` are the values rules match with ``source:`` and
    ``event_type:`` conditions (``kong_monitor`` / ``service_discovery``); ``data`` holds the
    fields rules address as ``data.<name>``. ``asset`` names the thing the event is about, unique
    within ``platform``.
    """

    source: str
    event_type: str
    platform: str
    asset: str
    data: Mapping[str, Any]
    observed_at: float
    kind: EventKind = "state"
    environment: str = ""
    extra_labels: Mapping[str, str] = field(default_factory=dict)
