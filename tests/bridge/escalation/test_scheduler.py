"""The scheduler against both stores, with a controllable clock: the seed's levels, once each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bridge.dedupe import DedupeDecision
from bridge.escalation.access import escalation_store
from bridge.escalation.policy import EscalationConfig, Level
from bridge.escalation.records import Claim, DueAlert
from bridge.escalation.scheduler import EscalationScheduler
from bridge.pipeline.base import Batch
from bridge.pipeline.lifecycle import processing_write
from bridge.store import AlertStore, open_store
from bridge.store.records import Transition
from tests.bridge.escalation.helpers import T0, Clock, delivery
from tests.bridge.helpers import make_alert, make_payload


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


class Sent(list[tuple[int, int, str]]):
    """(alert id, level, message) of each won claim, in order."""


def scheduler(
    store: AlertStore, clock: Clock, sent: list[tuple[int, int, str]], **config: object
) -> EscalationScheduler:
    async def on_claimed(alert: DueAlert, claim: Claim) -> None:
        sent.append((claim.alert_id, claim.level, claim.message))

    def route(alert: DueAlert, level: Level) -> list[str]:
        return [f"to-{r}" for r in level.recipients]

    return EscalationScheduler(
        config=EscalationConfig.model_validate(config),
        store=lambda: escalation_store(store),
        route=route,
        on_claimed=on_claimed,
        now=clock,
    )


async def _alert(store: AlertStore, fp: str = "a1", **labels: str) -> int:
    """A new alert as the pipeline leaves it: stored, then scheduled by the lifecycle write."""
    stored = delivery(make_payload(make_alert(fp, **labels)))
    receipts = await store.record_delivery(stored)
    await store.apply_processing(processing_write([Batch(delivery=stored, receipts=receipts)]))
    return receipts[0].instance_id


async def test_critical_escalates_at_the_seed_delays_each_level_once(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    alert_id = await _alert(store)
    s = scheduler(store, clock, sent)
    steps = [
        (timedelta(0), [1]),
        (timedelta(minutes=14, seconds=59), []),
        (timedelta(seconds=1), [2]),
        (timedelta(minutes=30), []),
        (timedelta(minutes=15), [3]),
        (timedelta(hours=2, minutes=59), []),
        (timedelta(minutes=1), [4]),
        (timedelta(hours=24), []),
    ]
    for delta, levels in steps:
        clock.advance(delta)
        await s.tick()
        assert [level for _, level, _ in sent] == levels, (clock.at - T0, sent)
        sent.clear()
    rows = await s.store().due_alerts(now=clock.at + timedelta(days=365), limit=10)
    assert rows == []  # nothing left: the alert dropped out of the due index
    del alert_id


async def test_message_reads_escalated_level_and_title(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    await _alert(store)
    await scheduler(store, clock, sent).tick()
    assert sent[0][2] == "ESCALATED L1: title of a1"


async def test_acknowledge_stops_escalation(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    alert_id = await _alert(store)
    s = scheduler(store, clock, sent)
    await s.tick()
    await store.transition(Transition(alert_id=alert_id, action="acknowledge", by="al", at=T0))
    clock.advance(timedelta(hours=5))
    await s.tick()
    assert [level for _, level, _ in sent] == [1]


async def test_levels_that_fell_due_meanwhile_fire_on_the_first_tick(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    await _alert(store)
    clock.advance(timedelta(hours=1, minutes=1))  # no bridge ran: L1, L2, L3 are all due
    await scheduler(store, clock, sent).tick()
    assert [level for _, level, _ in sent] == [1, 2, 3]
    sent.clear()
    await scheduler(store, clock, sent).tick()  # "after a restart": nothing twice
    assert sent == []


async def test_concurrent_schedulers_fire_each_level_once(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    for i in range(20):
        await _alert(store, f"c{i}")
    schedulers = [scheduler(store, clock, sent) for _ in range(4)]
    for delta in (timedelta(0), timedelta(minutes=15), timedelta(minutes=45), timedelta(hours=3)):
        clock.advance(delta)
        await asyncio.gather(*(s.tick() for s in schedulers))
    fired = sorted((a, level) for a, level, _ in sent)
    assert len(fired) == len(set(fired)) == 20 * 4


async def test_policy_by_rule_category_and_immediate(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    await _alert(store, "imm", severity="critical", escalation="immediate")
    await _alert(store, "low", severity="low")
    await _alert(store, "rule", severity="low", rule_id="custom")
    s = scheduler(
        store,
        clock,
        sent,
        rules={
            "custom": [
                {"level": 1, "recipients": ["a"]},
                {"level": 2, "delay": "5m", "recipients": ["b"]},
            ]
        },
    )
    await s.tick()
    clock.advance(timedelta(hours=5))
    await s.tick()
    # immediate: one L1; low: one L1; the rule's own policy: L1 then L2
    assert sorted(level for _, level, _ in sent) == [1, 1, 1, 2]


def test_immediate_addresses_every_recipient_at_level_one() -> None:
    levels = EscalationConfig().policy_for(
        severity="critical", category=None, rule_id=None, escalation="immediate"
    )
    assert levels == (
        Level(
            1,
            timedelta(0),
            ("security_team", "security_lead", "devops_lead", "ciso", "cto", "executive_team"),
        ),
    )


async def test_only_alerts_the_pipeline_finished_escalate(store: AlertStore) -> None:
    """A stored alert waits for classification and dedupe: a tick before that claims nothing,
    and one after claims its L1 (on its final severity, never as a future duplicate)."""
    clock, sent = Clock(), Sent()
    stored = delivery(make_payload(make_alert("late", severity="critical")))
    receipts = await store.record_delivery(stored)
    s = scheduler(store, clock, sent)
    await s.tick()
    assert sent == []
    await store.apply_processing(processing_write([Batch(delivery=stored, receipts=receipts)]))
    await s.tick()
    assert [(a, level) for a, level, _ in sent] == [(receipts[0].instance_id, 1)]


async def test_a_duplicate_never_escalates(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    primary = await _alert(store, "p1")
    stored = delivery(make_payload(make_alert("d1")))
    receipts = await store.record_delivery(stored)
    decision = DedupeDecision(primary, 0.93, False, ("asset_id",))
    batch = Batch(delivery=stored, receipts=receipts, dedupe={receipts[0].instance_id: decision})
    await store.apply_processing(processing_write([batch]))
    await scheduler(store, clock, sent).tick()
    assert [(a, level) for a, level, _ in sent] == [(primary, 1)]


async def test_escalation_resumes_when_a_suppression_ends(store: AlertStore) -> None:
    clock, sent = Clock(), Sent()
    alert_id = await _alert(store, severity="critical")
    s = scheduler(store, clock, sent)
    await s.tick()
    until = T0 + timedelta(minutes=30)
    await store.transition(
        Transition(alert_id=alert_id, action="suppress", by="al", at=T0, until=until)
    )
    clock.advance(timedelta(minutes=20))
    await s.tick()  # L2 fell due while suppressed: not sent
    assert [level for _, level, _ in sent] == [1]
    clock.advance(timedelta(minutes=10))
    await store.transition(
        Transition(alert_id=alert_id, action="unsuppress", by="expiry", at=clock.at)
    )
    await s.tick()
    assert [level for _, level, _ in sent] == [1, 2]


async def test_kicks_soon_after_a_tick_wait_out_the_kick_delay(store: AlertStore) -> None:
    """An idle scheduler ticks at once when kicked; kicks right after a tick are batched into
    one tick, no sooner than ``kick_delay_seconds`` after the previous one began."""
    ticks: list[float] = []
    loop = asyncio.get_running_loop()
    sched = scheduler(store, Clock(T0), Sent(), tick_seconds=3600, kick_delay_seconds=0.3)
    original = sched.tick

    async def counted() -> list[Claim]:
        ticks.append(loop.time())
        return await original()

    sched.tick = counted  # type: ignore[method-assign]
    sched.start()
    try:
        for _ in range(100):  # the first tick runs as the scheduler starts
            if ticks:
                break
            await asyncio.sleep(0.01)
        for _ in range(3):  # three passes' worth of new alerts, close together
            sched.kick()
            await asyncio.sleep(0.02)
        for _ in range(100):
            if len(ticks) >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)  # no tick left over from the three kicks
    finally:
        await sched.stop()
    assert len(ticks) == 2
    assert ticks[1] - ticks[0] >= 0.3


async def test_with_no_kick_delay_every_kick_ticks(store: AlertStore) -> None:
    ticks: list[float] = []
    sched = scheduler(store, Clock(T0), Sent(), tick_seconds=3600, kick_delay_seconds=0)
    original = sched.tick

    async def counted() -> list[Claim]:
        ticks.append(0.0)
        return await original()

    sched.tick = counted  # type: ignore[method-assign]
    sched.start()
    try:
        for expected in (1, 2, 3):
            if expected > 1:
                sched.kick()
            for _ in range(100):
                if len(ticks) >= expected:
                    break
                await asyncio.sleep(0.01)
    finally:
        await sched.stop()
    assert len(ticks) == 3
