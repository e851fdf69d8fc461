"""The dispatcher starts a delivery task only for a claimed level that reaches a channel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from bridge.escalation.records import Claim, DueAlert
from bridge.routing.dispatch import Dispatcher

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ALERT = DueAlert(
    id=1, created_at=AT, severity="high", category="exposure", rule_id="r", title="t",
    asset_id="a", generator_url="", labels={}, annotations={}, claimed=frozenset(),
)  # fmt: skip


def claim(*channels: str) -> Claim:
    return Claim(alert_id=1, level=1, recipients=("security_team",), channels=channels,
                 message="ESCALATED L1: t", due_at=AT)  # fmt: skip


async def test_a_level_without_channels_starts_no_task() -> None:
    unused = cast("Any", None)  # nothing is delivered, so no collaborator is touched
    dispatcher = Dispatcher(
        deliverer=unused, store=unused, alerts=unused, router=unused, limiter=unused, now=unused
    )
    await dispatcher.escalate(ALERT, claim())
    assert not dispatcher._tasks
    started = asyncio.Event()

    async def level(alert: DueAlert, won: Claim) -> None:
        started.set()

    dispatcher._level = level  # type: ignore[method-assign,assignment]
    await dispatcher.escalate(ALERT, claim("slack"))
    assert len(dispatcher._tasks) == 1
    await dispatcher.idle()
    assert started.is_set()
