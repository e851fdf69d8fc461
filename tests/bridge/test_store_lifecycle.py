"""The lifecycle half of the store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.metrics import BridgeMetrics
from bridge.pipeline.base import Batch, PreparedStage
from bridge.pipeline.lifecycle import Lifecycle, processing_write
from bridge.store import AlertStore, open_store, postgres_lifecycle
from bridge.store.base import AlertQuery, Delivery, ReceiptResult
from bridge.store.pending import AlreadyProcessed, NotYetVisible
from bridge.store.records import (
    AlertNotFound,
    AppliedWrite,
    DuplicateLink,
    InstanceUpdate,
    InvalidTransition,
    NewInstance,
    Occurrence,
    ProcessingWrite,
    TimelineEntry,
    Transition,
)
from tests.bridge.helpers import drop_bridge_tables, make_alert, make_payload, record_and_process

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def delivery(payload: dict[str, Any], received_at: datetime = NOW) -> Delivery:
    body = json.dumps(payload).encode()
    return to_delivery(parse_payload(body), body, received_at=received_at)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def ids(store: AlertStore, *alerts: dict[str, Any], at: datetime = NOW) -> list[int]:
    results = await record_and_process(store, delivery(make_payload(*alerts), at))
    return [r.instance_id for r in results]


def instance(alert_id: int, fingerprint: str, **columns: Any) -> NewInstance:
    values: dict[str, Any] = {
        "id": alert_id, "fingerprint": fingerprint, "starts_at": NOW, "ends_at": None,
        "am_status": "firing", "status": "open", "resolved_at": None, "resolved_by": None,
        "rule_id": "r", "alertname": "A", "title": f"title of {fingerprint}",
        "severity": "high", "base_severity": "high", "category": "cat",
        "business_impact": None, "urgency": None, "confidence": None, "reasons": (),
        "enrichment": {}, "classified_at": None, "asset_id": "x", "environment": "prod",
        "labels": {"alertname": "A"}, "annotations": {}, "generator_url": "",
        "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(columns)
    return NewInstance(**values)


async def receipts(store: AlertStore, *fingerprints: str) -> list[ReceiptResult]:
    """Recorded, not processed: the instances do not exist yet."""
    payload = make_payload(*(make_alert(f) for f in fingerprints))
    return await store.record_delivery(delivery(payload))


async def test_the_write_creates_instances_with_classification_and_merges(
    store: AlertStore,
) -> None:
    recorded = await receipts(store, "p", "d1", "d2")
    primary, dup1, dup2 = (r.instance_id for r in recorded)
    assert (await store.list_alerts(AlertQuery())).alerts == []  # receipts only, so far
    reasons = [{"factor": "environment", "effect": "+1", "detail": "production"}]
    links = (
        DuplicateLink(dup1, primary, 0.85, False, NOW, "kong"),
        DuplicateLink(dup2, primary, 1.0, True, NOW + timedelta(seconds=1), None),
    )
    write = ProcessingWrite(
        instances=[
            instance(primary, "p", severity="critical", base_severity="high",
                     urgency="immediate", confidence=0.9, reasons=reasons,
                     enrichment={"asset_criticality": "critical"}, classified_at=NOW,
                     occurrence_count=3, last_occurrence_at=NOW + timedelta(seconds=1),
                     duplicates=links),
            instance(dup1, "d1", primary_id=primary, dedupe_score=0.85),
            instance(dup2, "d2", primary_id=primary, dedupe_score=1.0),
        ],
        occurrences=[Occurrence(primary, "firing", NOW, "g", "r", NOW)],
        timeline=[TimelineEntry(primary, NOW, "created", "created", "alertmanager")],
        processed=[r.alert.receipt_key for r in recorded],
    )  # fmt: skip
    assert await store.apply_processing(write) == AppliedWrite()

    detail = await store.get_alert(primary)
    assert detail is not None
    alert = detail.alert
    assert (alert.severity, alert.base_severity, alert.urgency) == ("critical", "high", "immediate")
    assert (alert.confidence, list(alert.reasons)) == (0.9, reasons)
    assert alert.enrichment == {"asset_criticality": "critical"}
    assert alert.classified_at == NOW
    assert alert.occurrence_count == 3
    assert alert.last_occurrence_at == NOW + timedelta(seconds=1)
    assert [(d["alert_id"], d["exact"], d["source"]) for d in alert.duplicates] == [
        (dup1, False, "kong"),
        (dup2, True, None),
    ]
    assert [(o.am_status, o.group_key) for o in detail.occurrences] == [("firing", "g")]
    assert [(t.kind, t.actor) for t in detail.timeline] == [("created", "alertmanager")]
    duplicate = await store.get_alert(dup1)
    assert duplicate is not None
    assert (duplicate.alert.primary_id, duplicate.alert.dedupe_score) == (primary, 0.85)
    assert await store.get_alert(10_000_000) is None

    # The same receipts once more: another worker got there first, nothing changes.
    with pytest.raises(AlreadyProcessed):
        await store.apply_processing(write)
    # A later write merges into the stored primary and resolves it.
    [late] = await receipts(store, "d3")
    later = NOW + timedelta(minutes=5)
    link = DuplicateLink(late.instance_id, primary, 0.9, False, later, "kong")
    done = await store.apply_processing(
        ProcessingWrite(
            instances=[instance(late.instance_id, "d3", primary_id=primary, dedupe_score=0.9)],
            updates=[InstanceUpdate(primary, later, (link,), (None, later))],
            processed=[late.alert.receipt_key],
        )
    )
    assert done.resolved == {primary}
    assert [(t.alert_id, t.severity, t.seconds) for t in done.timings] == [
        (primary, "critical", 300.0)
    ]
    detail = await store.get_alert(primary)
    assert detail is not None
    assert (detail.alert.occurrence_count, detail.alert.last_occurrence_at) == (4, later)
    assert [d["alert_id"] for d in detail.alert.duplicates] == [dup1, dup2, late.instance_id]
    assert (detail.alert.status, detail.alert.am_status) == ("resolved", "resolved")
    assert detail.timeline[-1].message == "resolved by Alertmanager"


def primary_write(receipt: ReceiptResult, title: str) -> ProcessingWrite:
    """The write that creates ``receipt``'s instance as a primary."""
    return ProcessingWrite(
        instances=[instance(receipt.instance_id, title)], processed=[receipt.alert.receipt_key]
    )


def duplicate_write(receipt: ReceiptResult, primary: ReceiptResult) -> ProcessingWrite:
    """The write that creates ``receipt``'s instance as a duplicate merged into ``primary``'s."""
    link = DuplicateLink(receipt.instance_id, primary.instance_id, 0.9, False, NOW, None)
    return ProcessingWrite(
        instances=[instance(receipt.instance_id, "b", primary_id=primary.instance_id)],
        updates=[InstanceUpdate(primary.instance_id, NOW, (link,))],
        processed=[receipt.alert.receipt_key],
    )


async def test_the_stage_prepares_its_write_apart_from_applying_it(store: AlertStore) -> None:
    """What the pipeline runs before the pass's turn (planning, encoding) writes nothing;
    only ``apply`` does, which is all that runs in pass order."""
    stage = Lifecycle(lambda: store, BridgeMetrics())
    assert isinstance(stage, PreparedStage)
    recorded = delivery(make_payload(make_alert("a"), make_alert("b")))
    batch = Batch(delivery=recorded, receipts=await store.record_delivery(recorded))

    prepared = await stage.prepare([batch])
    assert prepared.write is not None
    assert len(prepared.write.write.instances) == 2
    assert (await store.list_alerts(AlertQuery())).alerts == []
    [applied] = await stage.apply(prepared)
    assert applied.delivery == recorded
    assert {a.fingerprint for a in (await store.list_alerts(AlertQuery())).alerts} == {"a", "b"}


async def test_a_write_that_changes_an_instance_not_yet_created_writes_nothing(
    store: AlertStore,
) -> None:
    [first] = await receipts(store, "a")  # its pass has not written it yet
    [other] = await receipts(store, "b")
    write = duplicate_write(other, first)
    with pytest.raises(NotYetVisible):
        await store.apply_processing(write)
    assert (await store.list_alerts(AlertQuery())).alerts == []
    # Once the first is written, the same write goes through.
    await store.apply_processing(primary_write(first, "a"))
    await store.apply_processing(write)
    stored = await store.get_alert(first.instance_id)
    assert stored is not None
    assert stored.alert.occurrence_count == 2


async def test_the_stage_writes_again_once_the_instance_it_changes_is_created(
    store: AlertStore,
) -> None:
    [first] = await receipts(store, "a")
    [other] = await receipts(store, "b")
    metrics = BridgeMetrics()
    stage = Lifecycle(lambda: store, metrics)
    prepared = store.prepare_processing(duplicate_write(other, first))
    duplicate = asyncio.create_task(stage._apply(prepared))
    await asyncio.sleep(0.05)  # the primary's pass is slower
    assert not duplicate.done()
    await store.apply_processing(primary_write(first, "a"))
    await duplicate
    stored = await store.get_alert(first.instance_id)
    assert stored is not None
    assert stored.alert.occurrence_count == 2
    assert metrics.write_retries._value.get() >= 1


@pytest.mark.postgres
async def test_a_duplicate_waits_for_its_primary_committed_by_another_connection(
    postgres_url: str,
) -> None:
    """Two replicas: the primary's write is in flight (not committed) in one connection while
    the duplicate's, merging into it, runs in another; it goes through once the first commits,
    and nothing is left to the recovery sweep."""
    await drop_bridge_tables(postgres_url)
    store = await open_store(postgres_url)
    try:
        [first] = await receipts(store, "a")
        [other] = await receipts(store, "b")
        metrics = BridgeMetrics()
        stage = Lifecycle(lambda: store, metrics)
        replica = await asyncpg.connect(postgres_url)
        try:
            transaction = replica.transaction()
            await transaction.start()
            await postgres_lifecycle.apply_processing(replica, primary_write(first, "a"))
            prepared = store.prepare_processing(duplicate_write(other, first))
            duplicate = asyncio.create_task(stage._apply(prepared))
            await asyncio.sleep(0.1)
            assert not duplicate.done()
            await transaction.commit()
            await duplicate
        finally:
            await replica.close()
        stored = await store.get_alert(first.instance_id)
        assert stored is not None
        assert stored.alert.occurrence_count == 2
        assert [d["alert_id"] for d in stored.alert.duplicates] == [other.instance_id]
        assert metrics.write_retries._value.get() >= 1
        assert await store.claim_unprocessed(now=NOW + timedelta(hours=1), lease=timedelta(0),
                                             limit=10) == []  # fmt: skip
    finally:
        await store.close()


async def test_resolution_timings_for_alerts_alertmanager_resolved(store: AlertStore) -> None:
    [alert_id] = await ids(store, make_alert("r", severity="high"))
    ended = "2026-11-25T12:30:00Z"
    resolved = make_payload(make_alert("r", severity="high", status="resolved", ends_at=ended))
    [receipt] = await store.record_delivery(delivery(resolved, NOW + timedelta(hours=1)))
    assert (receipt.instance_id, receipt.resolved) == (alert_id, True)

    done = await store.apply_processing(
        processing_write([Batch(delivery(resolved, NOW + timedelta(hours=1)), [receipt])])
    )
    [timing] = done.timings
    assert (timing.alert_id, timing.severity, timing.seconds) == (alert_id, "high", 1800.0)
    assert done.resolved == {alert_id}


async def test_transitions_and_their_refusals(store: AlertStore) -> None:
    first, second = await ids(store, make_alert("a"), make_alert("b"))
    acked = await store.transition(Transition(first, "acknowledge", "alice", NOW, "on it"))
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged",
        "alice",
        NOW,
    )
    with pytest.raises(InvalidTransition):
        await store.transition(Transition(first, "acknowledge", "bob", NOW))
    until = NOW + timedelta(hours=2)
    suppressed = await store.transition(
        Transition(second, "suppress", "bob", NOW, until=until, silence_id="s-1")
    )
    assert (suppressed.status, suppressed.suppressed_until, suppressed.silence_id) == (
        "suppressed",
        until,
        "s-1",
    )
    for action in ("acknowledge", "resolve", "suppress", "expire"):
        with pytest.raises(InvalidTransition):
            await store.transition(Transition(second, action, "c", NOW))
    with pytest.raises(AlertNotFound):
        await store.transition(Transition(10_000_000, "resolve", "c", NOW))
    resolved = await store.transition(Transition(first, "resolve", "alice", NOW))
    assert (resolved.status, resolved.resolved_by) == ("resolved", "alice")
    detail = await store.get_alert(second)
    assert detail is not None
    entry = detail.timeline[-1]  # after the pipeline's "created"
    assert entry.kind == "suppressed"
    assert entry.detail == {"until": until.isoformat(), "silence_id": "s-1"}
    assert await store.open_counts() == {}


async def test_classification_history_counts_and_related_open_alerts(store: AlertStore) -> None:
    old = await ids(store, make_alert("o", rule_id="r", asset="x"), at=NOW - timedelta(days=10))
    recent = await ids(store, make_alert("n", rule_id="r", asset="x"), at=NOW - timedelta(days=1))
    other = await ids(store, make_alert("q", rule_id="q", asset="x"))
    current = await ids(store, make_alert("c", rule_id="r", asset="x"))
    await store.transition(Transition(old[0], "resolve", "a", NOW))

    history = await store.classification_history([("r", "x"), ("z", None)], now=NOW)
    # Every stored alert counts, the resolved one too; the 10-day-old one only in the month.
    assert history.counts[("r", "x")] == (2, 3)
    assert history.counts[("z", None)] == (0, 0)
    related = [alert_id for alert_id, _, _ in history.open_alerts]
    assert related == sorted([*recent, *other, *current], reverse=True)
    assert await store.open_counts() == {"critical": 3}
