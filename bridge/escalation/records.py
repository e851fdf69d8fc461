"""What the escalation scheduler reads from and writes to the store, and the store Protocol.

The store is the single source of truth: an alert's due levels are its ``created_at`` plus
each level's delay, minus the levels already in ``escalations``. A level is *claimed* by
inserting its ``escalations`` row; the unique (alert_id, level) constraint lets exactly one
replica win, and only the winner sends.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bridge.frozen import frozen
from bridge.notify.base import MessageRef
from bridge.notify.delivery import DeadLetter, DeliveryAttempt


@frozen
class DueAlert:
    """An open alert the scheduler has to look at now, with the levels already claimed."""

    id: int
    created_at: datetime
    severity: str | None
    category: str | None
    rule_id: str | None
    title: str | None
    asset_id: str | None
    generator_url: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    claimed: frozenset[int]


@frozen
class Claim:
    """One level of one alert to insert into ``escalations``."""

    alert_id: int
    level: int
    recipients: Sequence[str]
    channels: Sequence[str]
    message: str
    due_at: datetime


class EscalationStore(Protocol):
    """Escalation state, sent-message references, delivery log and dead letters.

    It also satisfies :class:`~bridge.notify.delivery.DeliveryLog` and
    :class:`~bridge.notify.delivery.DeadLetters` (``record``/``attempts``, ``add``/``list``/
    ``take``), so the :class:`~bridge.notify.delivery.Deliverer` writes straight to it.
    """

    async def due_alerts(self, *, now: datetime, limit: int) -> builtins.list[DueAlert]:
        """Open alerts whose next check time is at or before ``now``, earliest first."""
        ...

    async def claim(
        self,
        claims: Sequence[Claim],
        *,
        now: datetime,
        next_check: Mapping[int, datetime | None],
    ) -> builtins.list[Claim]:
        """Insert the claims that nobody holds yet and return those; set next check times.

        ``next_check[id]`` None means no level is left for the alert.
        """
        ...

    async def message_refs(self, alert_id: int) -> dict[str, MessageRef]: ...

    async def save_message_ref(self, alert_id: int, ref: MessageRef, *, now: datetime) -> None: ...

    async def record(self, attempt: DeliveryAttempt) -> None: ...

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> builtins.list[DeliveryAttempt]: ...

    async def add(self, letter: DeadLetter) -> None: ...

    async def list(
        self, *, channel: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetter]: ...

    async def take(
        self, *, ids: Sequence[str] | None = None, channel: str | None = None
    ) -> builtins.list[DeadLetter]: ...
