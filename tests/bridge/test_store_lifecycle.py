"""The lifecycle half of the store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.store import AlertStore, open_store
from bridge.store.base import Delivery
from bridge.store.records import (
    AlertNotFound,
    ClassificationUpdate,
    DuplicateLink,
    InvalidTransition,
    Occurrence,
    ProcessingWrite,
    TimelineEntry,
    Transition,
)
from tests.bridge.helpers import make_alert, make_payload

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
    return [r.instance_id for r in await store.record_delivery(delivery(make_payload(*alerts), at))]


async def test_processing_write_persists_classification_merges_and_history(
    store: AlertStore,
) -> None:
    primary, dup1, dup2 = await ids(store, make_alert("p"), make_alert("d1"), make_alert("d2"))
    reasons = [{"factor": "environment", "effect": "+1", "detail": "production"}]
    write = ProcessingWrite(
        classifications=[
            ClassificationUpdate(
                primary,
                "critical",
                "high",
                "cat",
                "high",
                "immediate",
                0.9,
                reasons,
                {"asset_criticality": "critical"},
                NOW,
            ),
        ],
        duplicates=[
            DuplicateLink(dup1, primary, 0.85, False, NOW, "kong"),
            DuplicateLink(dup2, primary, 1.0, True, NOW + timedelta(seconds=1), None),
        ],
        occurrences=[Occurrence(primary, "firing", NOW, "g", "r", NOW)],
        timeline=[TimelineEntry(primary, NOW, "created", "created", "alertmanager")],
    )
    assert await store.apply_processing(write) == []

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


async def test_resolution_timings_for_alerts_alertmanager_resolved(store: AlertStore) -> None:
    [alert_id] = await ids(store, make_alert("r", severity="high"))
    ended = "2026-11-25T12:30:00Z"
    resolved = make_payload(make_alert("r", severity="high", status="resolved", ends_at=ended))
    await store.record_delivery(delivery(resolved, NOW + timedelta(hours=1)))

    [timing] = await store.apply_processing(ProcessingWrite(resolved_ids=[alert_id]))
    assert (timing.alert_id, timing.severity, timing.seconds) == (alert_id, "high", 1800.0)


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
    [entry] = detail.timeline
    assert entry.kind == "suppressed"
    assert entry.detail == {"until": until.isoformat(), "silence_id": "s-1"}
    assert await store.open_counts() == {}


async def test_classification_history_counts_and_related_open_alerts(store: AlertStore) -> None:
    old = await ids(store, make_alert("o", rule_id="r", asset="x"), at=NOW - timedelta(days=10))
    recent = await ids(store, make_alert("n", rule_id="r", asset="x"), at=NOW - timedelta(days=1))
    other = await ids(store, make_alert("q", rule_id="q", asset="x"))
    current = await ids(store, make_alert("c", rule_id="r", asset="x"))
    await store.transition(Transition(old[0], "resolve", "a", NOW))

    history = await store.classification_history(
        [("r", "x"), ("z", None)], exclude_ids=current, now=NOW
    )
    assert history.counts[("r", "x")] == (1, 2)
    assert history.counts[("z", None)] == (0, 0)
    related = [alert_id for alert_id, _, _ in history.open_alerts]
    assert related == sorted([*recent, *other, *current], reverse=True)
    assert await store.open_counts() == {"critical": 3}
