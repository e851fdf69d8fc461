"""From a claimed level or a state change to deliveries, always in background tasks.

For each channel: quiet hours (new messages and escalations only; updates of a message
already sent never ping anyone), then the channel's rate limit, then the shared
:class:`~bridge.notify.delivery.Deliverer` (retries, log, dead letters). The channel's
:class:`~bridge.notify.base.MessageRef` is stored per (alert, channel) so a later
acknowledgement or resolution updates that message (``previous``) instead of posting anew.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from bridge.escalation.records import Claim, DueAlert, EscalationStore
from bridge.notify.base import Link, MessageRef, Notification, Outcome, Severity, State
from bridge.notify.delivery import Deliverer
from bridge.routing.ratelimit import RateLimiter
from bridge.routing.router import Router
from bridge.store import AlertStore, StoreError

logger = logging.getLogger(__name__)
SEVERITIES = ("critical", "high", "medium", "low")
# What a lifecycle status tells channels; other statuses (suppressed, open) change nothing.
STATUS_STATES: dict[str, State] = {"acknowledged": "acknowledged", "resolved": "resolved"}


class AlertLike(Protocol):
    """What a notification needs; both DueAlert and StoredAlert have it."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str | None: ...
    @property
    def severity(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def rule_id(self) -> str | None: ...
    @property
    def asset_id(self) -> str | None: ...
    @property
    def generator_url(self) -> str: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...


def notification_for(
    alert: AlertLike,
    *,
    state: State,
    level: int = 0,
    recipients: tuple[str, ...] = (),
    previous: MessageRef | None = None,
) -> Notification:
    severity = alert.severity if alert.severity in SEVERITIES else "low"
    notes = alert.annotations
    links = [Link("Runbook", notes["runbook_url"])] if notes.get("runbook_url") else []
    if alert.generator_url:
        links.append(Link("Source", alert.generator_url))
    return Notification(
        alert_id=str(alert.id),
        title=alert.title or f"alert {alert.id}",
        message=notes.get("message", ""),
        severity=cast("Severity", severity),
        state=state,
        asset=alert.asset_id or "",
        rule_id=alert.rule_id or "",
        category=alert.category or "",
        remediation=notes.get("remediation", ""),
        links=links,
        escalation_level=level,
        recipients=recipients,
        previous=previous,
        dedup_key=f"secmon-{alert.id}",
    )


@dataclass
class Dispatcher:
    deliverer: Deliverer
    store: Callable[[], EscalationStore]
    alerts: Callable[[], AlertStore]
    router: Router
    limiter: RateLimiter
    now: Callable[[], datetime]
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background; the set keeps a reference until it finishes."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait for every background delivery (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, *, grace_seconds: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self.idle(), timeout=grace_seconds)
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def escalate(self, alert: DueAlert, claim: Claim) -> None:
        """The scheduler's ``on_claimed``: deliver the level without holding up the tick."""
        if claim.channels:  # a level that reaches no channel is recorded, nothing to send
            self.spawn(self._level(alert, claim))

    def update(self, alert_id: int) -> None:
        """Update the messages sent for ``alert_id`` to its current status (ack, resolve)."""
        self.spawn(self._update(alert_id))

    async def _level(self, alert: DueAlert, claim: Claim) -> None:
        # escalate() spawns this only for a level that reaches a channel.
        # Nothing is sent for an alert before its L1, so only later levels have a thread.
        refs = await self.store().message_refs(alert.id) if claim.level > 1 else {}
        state: State = "firing" if claim.level == 1 else "escalated"
        notes = {
            channel: notification_for(
                alert,
                state=state,
                level=claim.level,
                recipients=tuple(claim.recipients),
                previous=refs.get(channel),
            )
            for channel in claim.channels
        }
        await asyncio.gather(*(self._send(c, n, update=False) for c, n in notes.items()))

    async def _update(self, alert_id: int) -> None:
        try:
            detail = await self.alerts().get_alert(alert_id)
            refs = await self.store().message_refs(alert_id)
        except StoreError as exc:
            logger.warning("message update for alert %d skipped: %s", alert_id, exc)
            return
        if detail is None or detail.alert.status not in STATUS_STATES:
            return
        state = STATUS_STATES[detail.alert.status]
        sends = [
            self._send(channel, notification_for(detail.alert, state=state, previous=ref), True)
            for channel, ref in refs.items()
            if channel in self.deliverer.notifiers
        ]
        await asyncio.gather(*sends)

    async def _send(self, channel: str, notification: Notification, update: bool) -> None:
        try:
            if not update and self.router.quiet(
                channel, severity=notification.severity, at=self.now()
            ):
                logger.info("quiet hours on %s: alert %s held back", channel, notification.alert_id)
                return
            wait = await self.limiter.acquire(channel)
            if wait > 0:
                await self.sleep(min(wait, self.max_wait_seconds))
            result = await self.deliverer.deliver(channel=channel, notification=notification)
            if result.outcome is Outcome.OK and result.ref is not None:
                await self.store().save_message_ref(
                    int(notification.alert_id), result.ref, now=self.now()
                )
        except Exception:
            # A background task has nobody to raise to: log it, the next event tries again.
            logger.exception("delivery to %s for alert %s failed", channel, notification.alert_id)
