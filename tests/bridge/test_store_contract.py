"""The alert store contract, run against SQLite and PostgreSQL alike.

Both backends must give the same answers for the same deliveries: that is what lets the
embedded default and production share every other test and every pipeline stage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.store import AlertStore, open_store
from bridge.store.base import AlertQuery, Delivery, ReceiptResult
from bridge.store.migrate import load_migrations
from tests.bridge.helpers import example, make_alert, make_payload, query, record_and_process

RECEIVED = datetime(2026, 11, 25, 10, 0, 0, 250_000, tzinfo=UTC)


def delivery(payload: dict[str, Any], received_at: datetime = RECEIVED) -> Delivery:
    body = json.dumps(payload).encode()
    return to_delivery(parse_payload(body), body, received_at=received_at)


def flags(results: list[ReceiptResult]) -> list[tuple[bool, bool, bool]]:
    return [(r.duplicate, r.created, r.resolved) for r in results]


async def record(store: AlertStore, delivery: Delivery) -> list[ReceiptResult]:
    """A delivery as the bridge handles it: recorded, then written by the pipeline."""
    return await record_and_process(store, delivery)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def test_new_alert_is_stored_with_columns_from_its_labels(store: AlertStore) -> None:
    results = await record(store, delivery(example("kong-admin-api-firing")))

    assert flags(results) == [(False, True, False)]
    page = await store.list_alerts(AlertQuery())
    [alert] = page.alerts
    assert alert.id == results[0].instance_id
    assert alert.fingerprint == "5c2f8e0b7a9d3146"
    assert (alert.rule_id, alert.alertname, alert.severity) == (
        "kong_http_admin_api",
        "KongHttpAdminApi",
        "critical",
    )
    assert (alert.category, alert.asset_id, alert.environment) == (
        "configuration_security",
        "edge",
        "production",
    )
    assert alert.title == "Kong Admin API exposed over HTTP"
    assert (alert.status, alert.am_status) == ("open", "firing")
    assert alert.labels["platform"] == "kong"
    assert alert.annotations["cwe_id"] == "CWE-319"
    assert alert.starts_at == datetime(2026, 11, 25, 9, 58, 31, 244_000, tzinfo=UTC)
    assert alert.ends_at is None  # Go's zero time means "not ended"
    assert alert.created_at == RECEIVED
    assert alert.occurrence_count == 1
    assert alert.resolved_at is None
    assert alert.acknowledged_at is None
    assert page.next_before_id is None


async def test_same_delivery_twice_changes_only_counters(
    store: AlertStore, database_url: str
) -> None:
    payload = example("aws-security-group-group-newer-alertmanager")
    first = await record(store, delivery(payload))
    second = await record(store, delivery(payload))

    assert [r.duplicate for r in first] == [False, False, False]
    assert flags(second) == [(True, False, False)] * 3
    assert [r.instance_id for r in second] == [r.instance_id for r in first]
    assert len((await store.list_alerts(AlertQuery())).alerts) == 3
    counts = await query(database_url, "SELECT received_count FROM alert_receipts")
    assert sorted(row[0] for row in counts) == [2, 2, 2]
    payloads = await query(database_url, "SELECT received_count FROM webhook_payloads")
    assert payloads == [(2,)]


async def test_resolved_marks_the_instance_resolved_at_ends_at(store: AlertStore) -> None:
    fired = await record(store, delivery(example("kong-admin-api-firing")))
    resolved = await record(store, delivery(example("kong-admin-api-resolved")))
    again = await record(store, delivery(example("kong-admin-api-resolved")))

    assert flags(resolved) == [(False, False, True)]
    assert flags(again) == [(True, False, False)]
    assert resolved[0].instance_id == fired[0].instance_id
    [alert] = (await store.list_alerts(AlertQuery())).alerts
    assert (alert.status, alert.am_status) == ("resolved", "resolved")
    ended = datetime(2026, 11, 25, 10, 4, 46, 244_000, tzinfo=UTC)
    assert alert.ends_at == ended
    assert alert.resolved_at == ended


async def test_resolved_without_end_time_resolves_at_receipt(store: AlertStore) -> None:
    await record(store, delivery(make_payload(make_alert("f1"))))
    await record(store, delivery(make_payload(make_alert("f1", status="resolved"))))

    [alert] = (await store.list_alerts(AlertQuery())).alerts
    assert (alert.status, alert.am_status) == ("resolved", "resolved")
    assert alert.resolved_at == RECEIVED


async def test_firing_delivered_after_its_resolution_does_not_reopen(store: AlertStore) -> None:
    ended = "2026-11-25T09:30:00Z"
    resolved = await record(
        store, delivery(make_payload(make_alert("f1", status="resolved", ends_at=ended)))
    )
    late = await record(store, delivery(make_payload(make_alert("f1"))))

    assert flags(resolved) == [(False, True, True)]
    assert flags(late) == [(False, False, False)]
    [alert] = (await store.list_alerts(AlertQuery())).alerts
    assert (alert.status, alert.am_status) == ("resolved", "resolved")


async def test_new_starts_at_is_a_new_instance(store: AlertStore) -> None:
    await record(store, delivery(make_payload(make_alert("f1", status="resolved"))))
    again = await record(
        store, delivery(make_payload(make_alert("f1", starts_at="2026-11-25T11:00:00Z")))
    )

    assert flags(again) == [(False, True, False)]
    alerts = (await store.list_alerts(AlertQuery())).alerts
    assert [a.status for a in alerts] == ["open", "resolved"]


async def test_repeats_inside_one_delivery(store: AlertStore) -> None:
    payload = make_payload(
        make_alert("f1"),
        make_alert("f1"),
        make_alert("f2"),
        make_alert("f2", status="resolved", ends_at="2026-11-25T09:45:00Z"),
    )
    results = await record(store, delivery(payload))

    assert flags(results) == [
        (False, True, False),
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert results[0].instance_id == results[1].instance_id
    assert results[2].instance_id == results[3].instance_id
    by_fingerprint = {a.fingerprint: a for a in (await store.list_alerts(AlertQuery())).alerts}
    assert by_fingerprint["f1"].status == "open"
    assert by_fingerprint["f2"].status == "resolved"


async def test_concurrent_overlapping_deliveries_store_each_alert_once(store: AlertStore) -> None:
    # HA Alertmanagers and group re-sends: the same alerts arrive at once, in different orders.
    alerts = [make_alert(f"fp{i:02d}") for i in range(20)]
    payloads = [make_payload(*alerts[i:] + alerts[:i]) for i in range(0, 20, 2)]
    results = await asyncio.gather(*(record(store, delivery(p)) for p in payloads * 2))

    created = [r for batch in results for r in batch if r.created]
    assert sorted(r.alert.fingerprint for r in created) == [f"fp{i:02d}" for i in range(20)]
    assert sum(not r.duplicate for batch in results for r in batch) == 20
    page = await store.list_alerts(AlertQuery(limit=100))
    assert len(page.alerts) == 20


async def test_deliveries_recorded_together_answer_as_if_one_after_the_other(
    store: AlertStore, database_url: str
) -> None:
    """Deliveries that arrive at once share a write (group commit); each still gets what it
    would have got alone, in arrival order: HA twins, a re-sent receipt, an instance created
    by one delivery and resolved by the next, a receipt repeated inside one delivery."""
    firing_a, firing_b, firing_c = make_alert("a"), make_alert("b"), make_alert("c")
    resolved_a = make_alert("a", status="resolved", ends_at="2026-11-25T09:45:00Z")
    payloads = [
        make_payload(firing_a, firing_b),
        make_payload(firing_a, firing_b),  # the HA twin: the same body
        make_payload(firing_a, firing_c),
        make_payload(resolved_a),
        make_payload(firing_c, firing_c),
    ]
    deliveries = [delivery(p, RECEIVED + timedelta(milliseconds=n)) for n, p in enumerate(payloads)]
    results = await asyncio.gather(*(store.record_delivery(d) for d in deliveries))

    assert [flags(r) for r in results] == [
        [(False, True, False), (False, True, False)],
        [(True, False, False), (True, False, False)],
        [(True, False, False), (False, True, False)],
        [(False, False, True)],
        [(True, False, False), (True, False, False)],
    ]
    ids = {r.alert.receipt_key: r.instance_id for batch in results for r in batch}
    assert len({ids[k] for k in ids if k[0] == "a"}) == 1  # firing and resolved: one instance
    assert len(set(ids.values())) == 3
    assert await query(database_url, "SELECT count(*) FROM pending_receipts") == [(4,)]
    assert await query(database_url, "SELECT received_count FROM webhook_payloads ORDER BY id") == [
        (2,),
        (1,),
        (1,),
        (1,),
    ]
    receipts = await query(
        database_url,
        "SELECT fingerprint, status, received_count FROM alert_receipts ORDER BY 1, 2",
    )
    assert receipts == [("a", "firing", 3), ("a", "resolved", 1), ("b", "firing", 2),
                        ("c", "firing", 3)]  # fmt: skip


async def test_filters_and_pagination(store: AlertStore) -> None:
    await record(
        store,
        delivery(
            make_payload(
                make_alert("a", severity="critical", rule_id="r1"),
                make_alert("b", severity="high", rule_id="r1"),
                make_alert("c", severity="high", rule_id="r2"),
                make_alert("d", severity="low", rule_id="r2"),
                make_alert("e", severity="high", rule_id="r2", status="resolved"),
            )
        ),
    )

    async def fingerprints(**filters: Any) -> list[str]:
        return [a.fingerprint for a in (await store.list_alerts(AlertQuery(**filters))).alerts]

    assert await fingerprints() == ["e", "d", "c", "b", "a"]  # newest first
    assert await fingerprints(severity="high") == ["e", "c", "b"]
    assert await fingerprints(rule_id="r2", status="open") == ["d", "c"]
    assert await fingerprints(status="resolved") == ["e"]
    assert await fingerprints(severity="nope") == []

    seen: list[str] = []
    before: int | None = None
    while True:
        page = await store.list_alerts(AlertQuery(limit=2, before_id=before))
        seen += [a.fingerprint for a in page.alerts]
        if page.next_before_id is None:
            break
        before = page.next_before_id
    assert seen == ["e", "d", "c", "b", "a"]


async def test_raw_payload_is_kept_verbatim_with_unknown_fields(
    store: AlertStore, database_url: str
) -> None:
    payload = example("aws-security-group-group-newer-alertmanager")
    await record(store, delivery(payload))

    rows = await query(database_url, "SELECT group_key, alert_count, payload FROM webhook_payloads")
    [(group_key, alert_count, raw)] = rows
    assert group_key == payload["groupKey"]
    assert alert_count == 3
    stored = json.loads(raw)
    assert stored["routeLabels"] == {"team": "security"}
    assert stored["notification_reason"] == "group_interval"


async def test_retention_empties_old_bodies_and_keeps_what_they_delivered(
    store: AlertStore, database_url: str
) -> None:
    old = make_payload(make_alert("old-1"), make_alert("old-2"))
    await record(store, delivery(old, RECEIVED - timedelta(days=40)))
    await record(store, delivery(make_payload(make_alert("new-1")), RECEIVED))

    before = RECEIVED - timedelta(days=30)
    assert await store.prune_payload_bodies(received_before=before, limit=10) == 1
    assert await store.prune_payload_bodies(received_before=before, limit=10) == 0

    rows = await query(
        database_url, "SELECT alert_count, payload FROM webhook_payloads ORDER BY id"
    )
    bodies = [(count, json.loads(raw) if isinstance(raw, str) else raw) for count, raw in rows]
    assert bodies[0] == (2, {})
    assert bodies[1][1]["alerts"][0]["fingerprint"] == "new-1"
    assert len((await store.list_alerts(AlertQuery())).alerts) == 3
    # Alertmanager sending the old body again is still an exact re-delivery.
    again = await record(store, delivery(old, RECEIVED))
    assert flags(again) == [(True, False, False), (True, False, False)]


async def test_reopening_keeps_data_and_does_not_migrate_twice(
    store: AlertStore, database_url: str
) -> None:
    await record(store, delivery(example("kong-admin-api-firing")))
    reopened = await open_store(database_url)
    try:
        assert len((await reopened.list_alerts(AlertQuery())).alerts) == 1
        await reopened.ping()
    finally:
        await reopened.close()
    versions = await query(database_url, "SELECT version FROM schema_migrations ORDER BY 1")
    migrations = load_migrations("sqlite" if database_url.startswith("sqlite:") else "postgres")
    assert versions == [(m.version,) for m in migrations]
