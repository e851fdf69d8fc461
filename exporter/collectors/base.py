"""The collector protocol and the snapshot a poll produces.

Collectors poll asynchronously; Prometheus scrapes only ever render the latest snapshot, so a
slow or failing platform API never makes ``/metrics`` slow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import Metric

from exporter.events import Event


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one successful poll saw: normalized events plus collector-specific metric families."""

    events: Sequence[Event]
    taken_at: float
    metrics: Sequence[Metric] = field(default_factory=tuple)


class CollectorError(Exception):
    """A poll failed in a way the collector understood (bad status, malformed answer, timeout).

    ``reason`` is a short, label-safe token (``http_503``, ``timeout``, ``malformed``) used for
    the error counter; the message is for logs and must never contain credentials.
    ``retry_after`` is how long the platform asked us to wait (429/503 ``Retry-After``, or an
    exhausted rate limit until its reset); the runtime never polls again sooner.
    """

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class Collector(Protocol):
    """A platform collector: ``poll()`` asks the platform once and returns a fresh snapshot."""

    @property
    def name(self) -> str:
        """Instance name, unique in the config; the ``collector`` label on self-metrics."""
        ...

    @property
    def interval(self) -> float:
        """Seconds between polls."""
        ...

    async def poll(self) -> Snapshot:
        """Poll the platform once; raise :class:`CollectorError` on any failure."""
        ...

    async def close(self) -> None:
        """Release sessions and connections."""
        ...
