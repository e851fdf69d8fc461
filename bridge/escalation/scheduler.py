"""The escalation scheduler: find due levels in the store, claim each once, hand them on.

One tick:

1. read open alerts whose next check time has come (a range scan of a partial index, so the
   cost follows what is due, not how many alerts are open);
2. for each, the policy's levels whose ``created_at + delay`` has passed and that are not in
   ``escalations`` yet become claims; the next level's due time becomes the next check time;
3. claim them all in one transaction (unique (alert_id, level)): with several replicas ticking
   at once, each level is inserted, hence sent, by exactly one;
4. pass the won claims to ``on_claimed`` (routing and delivery, in background tasks).

Escalation stops on acknowledge, resolve and suppress simply because those alerts are no
longer ``open`` and drop out of the index. Everything is recomputed from the store, so levels
that fell due while no bridge ran fire on the first tick after start. ``now`` is injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.escalation.policy import EscalationConfig, Level
from bridge.escalation.records import Claim, DueAlert, EscalationStore
from bridge.store import StoreError
from bridge.tasks import stop_tasks

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Route = Callable[[DueAlert, Level], list[str]]
OnClaimed = Callable[[DueAlert, Claim], Awaitable[None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def escalation_message(level: int, title: str) -> str:
    """The seed's wording for every level."""
    return f"ESCALATED L{level}: {title}"


def plan(
    alert: DueAlert, levels: Sequence[Level], *, now: datetime, route: Route
) -> tuple[list[Claim], datetime | None]:
    """The claims due for ``alert`` at ``now``, and when it next needs looking at."""
    claims: list[Claim] = []
    for level in levels:
        due = alert.created_at + level.delay
        if due > now:
            return claims, due  # delays never decrease: later levels are not due either
        if level.level in alert.claimed:
            continue
        claims.append(
            Claim(
                alert_id=alert.id,
                level=level.level,
                recipients=level.recipients,
                channels=route(alert, level),
                message=escalation_message(level.level, alert.title or f"alert {alert.id}"),
                due_at=due,
            )
        )
    return claims, None


@dataclass
class EscalationScheduler:
    """Ticks every ``config.tick_seconds`` and whenever :meth:`kick` is called, but not
    sooner than ``config.kick_delay_seconds`` after the previous tick began."""

    config: EscalationConfig
    store: Callable[[], EscalationStore]
    route: Route
    on_claimed: OnClaimed
    now: Clock = utcnow
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def tick(self) -> list[Claim]:
        """One pass over everything due now; returns the claims this process won."""
        won: list[Claim] = []
        now = self.now()
        store = self.store()
        while True:
            due = await store.due_alerts(now=now, limit=self.config.batch_size)
            if not due:
                break
            claims: list[Claim] = []
            next_check: dict[int, datetime | None] = {}
            by_id = {alert.id: alert for alert in due}
            for n, alert in enumerate(due, 1):
                if n % 16 == 0:
                    await asyncio.sleep(0)
                levels = self.config.policy_for(
                    severity=alert.severity,
                    category=alert.category,
                    rule_id=alert.rule_id,
                    escalation=alert.labels.get("escalation"),
                )
                mine, next_check[alert.id] = plan(alert, levels, now=now, route=self.route)
                claims.extend(mine)
            batch_won = await store.claim(claims, now=now, next_check=next_check)
            first_levels = 0
            for n, claim in enumerate(batch_won, 1):
                # L1 is every new alert's first notification: at thousands a second a line
                # each would cost more than the rest of the tick, so those are counted.
                log = logger.info if claim.level > 1 else logger.debug
                log(
                    "escalation alert=%d level=%d channels=%s",
                    claim.alert_id,
                    claim.level,
                    ",".join(claim.channels) or "-",
                )
                first_levels += claim.level == 1
                await self.on_claimed(by_id[claim.alert_id], claim)
                if n % 16 == 0:
                    await asyncio.sleep(0)  # a burst of new alerts: let webhooks in
            if first_levels:
                logger.info("escalation: level 1 claimed for %d new alert(s)", first_levels)
            won.extend(batch_won)
            if len(due) < self.config.batch_size:
                break
        return won

    def kick(self) -> None:
        """Tick as soon as possible (a new alert: its L1 should not wait for the timer)."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="escalation-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            started = loop.time()
            try:
                await self.tick()
            except StoreError as exc:
                # The store probe reports outages; the next tick recomputes everything.
                logger.debug("escalation tick skipped: %s", exc)
            except Exception:
                logger.exception("escalation tick failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.tick_seconds):
                    await self._wake.wait()
            # Woken by new alerts right after a tick: wait out the rest of the kick delay, so
            # that one tick (one due query, one claim statement) takes the alerts of many
            # pipeline passes instead of one tick per pass.
            rest = started + self.config.kick_delay_seconds - loop.time()
            if rest > 0:
                await asyncio.sleep(rest)
