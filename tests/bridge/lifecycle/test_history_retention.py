"""History retention: old finished alerts go with every row that names them, on both stores."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from bridge import sweep
from bridge.app import create_app
from bridge.keys import STORE
from bridge.sweep import prune_history
from tests.bridge.helpers import (
    BridgeClient,
    api_call,
    bridge_config,
    execute,
    get_alerts,
    make_alert,
    make_payload,
    metric,
    post_payload,
    query,
)

# Every table with a row per alert, and the column naming the alert.
CHILD_TABLES = (
    "alert_timeline",
    "alert_occurrences",
    "escalations",
    "escalation_schedule",
    "notifications",
    "notification_messages",
)


async def backdate(database_url: str, table: str, columns: tuple[str, ...], where: str) -> None:
    """Move timestamps 400 days back (the store's own text format on SQLite)."""
    if database_url.startswith("sqlite:"):
        moved = [
            f"{c} = strftime('%Y-%m-%dT%H:%M:%f', {c}, '-400 days') || '000Z'" for c in columns
        ]
    else:
        moved = [f"{c} = {c} - interval '400 days'" for c in columns]
    await execute(database_url, f"UPDATE {table} SET {', '.join(moved)} WHERE {where}")  # noqa: S608


async def age_everything(database_url: str, fingerprints: tuple[str, ...]) -> None:
    names = ", ".join(f"'{f}'" for f in fingerprints)
    await backdate(
        database_url, "alert_instances", ("created_at", "updated_at"), f"fingerprint IN ({names})"
    )
    await backdate(
        database_url,
        "alert_receipts",
        ("first_received_at", "last_received_at"),
        f"fingerprint IN ({names})",
    )
    await backdate(database_url, "security_events", ("created_at",), "1 = 1")


async def ids(client: BridgeClient) -> dict[str, int]:
    return {a["fingerprint"]: a["id"] for a in await get_alerts(client)}


async def give_notifications(database_url: str, alert_id: int) -> None:
    """An escalation level, its notification and a channel message for ``alert_id``, as the
    escalation engine writes them (the test bridge has no channels configured)."""
    now = "'2026-11-25T00:00:00.000000Z'" if database_url.startswith("sqlite:") else "now()"
    await execute(
        database_url,
        f"INSERT INTO escalations (alert_id, level, due_at) VALUES ({alert_id}, 9, {now})",  # noqa: S608
    )
    await execute(
        database_url,
        "INSERT INTO notifications (alert_id, escalation_id, channel, created_at) "  # noqa: S608
        f"SELECT {alert_id}, id, 'slack', {now} FROM escalations WHERE level = 9",
    )
    await execute(
        database_url,
        "INSERT INTO notification_messages (alert_id, channel, ref, updated_at) "  # noqa: S608
        f"VALUES ({alert_id}, 'slack', '\"ts-1\"', {now})",
    )
    await execute(
        database_url,
        f"INSERT INTO escalation_schedule (alert_id, next_at) VALUES ({alert_id}, {now}) "  # noqa: S608
        "ON CONFLICT (alert_id) DO NOTHING",
    )


async def rows_naming(database_url: str, alert_id: int) -> dict[str, int]:
    """How many rows of each per-alert table (and of alert_instances) name ``alert_id``."""
    counts: dict[str, int] = {}
    for table, column in (*((t, "alert_id") for t in CHILD_TABLES), ("alert_instances", "id")):
        statement = f"SELECT count(*) FROM {table} WHERE {column} = {alert_id}"  # noqa: S608
        counts[table] = (await query(database_url, statement))[0][0]
    return counts


async def test_old_finished_alerts_go_with_their_rows_and_active_ones_stay(
    client: BridgeClient, database_url: str
) -> None:
    names = ("done", "hushed", "active", "acked")
    await post_payload(client, make_payload(*(make_alert(n) for n in names)))
    await post_payload(client, make_payload(make_alert("done", status="resolved")))
    before = await ids(client)
    await api_call(client, "POST", f"/api/v1/alerts/{before['hushed']}/suppress", {"by": "a"})
    await api_call(client, "POST", f"/api/v1/alerts/{before['acked']}/ack", {"by": "a"})
    await give_notifications(database_url, before["done"])
    done = await rows_naming(database_url, before["done"])
    assert min(done.values()) > 0  # every per-alert table has a row for it
    await age_everything(database_url, names)

    old, recent = time.time() - 400 * 86400, time.time()
    for letter, created in (("old", old), ("recent", recent)):
        await execute(
            database_url,
            "INSERT INTO dead_letters (id, channel, alert_id, payload, reason, attempts, "  # noqa: S608
            f"created_at) VALUES ('{letter}', 'slack', '1', '{{}}', 'gone', 3, {created})",
        )

    pruned = await prune_history(client.app)

    assert (pruned.alerts, pruned.events, pruned.dead_letters) == (2, 4, 1)
    assert await query(database_url, "SELECT id FROM dead_letters") == [("recent",)]
    assert set(await ids(client)) == {"active", "acked"}
    for gone in ("done", "hushed"):
        assert set((await rows_naming(database_url, before[gone])).values()) == {0}
        receipts = await query(
            database_url,
            f"SELECT count(*) FROM alert_receipts WHERE fingerprint = '{gone}'",  # noqa: S608
        )
        assert receipts == [(0,)]
    assert (await rows_naming(database_url, before["active"]))["alert_timeline"] > 0
    assert await query(database_url, "SELECT count(*) FROM security_events") == [(0,)]
    assert metric(client, "secmon_bridge_history_pruned_total", kind="alerts") == 2
    assert metric(client, "secmon_bridge_history_pruned_total", kind="security_events") == 4
    assert metric(client, "secmon_bridge_history_pruned_total", kind="dead_letters") == 1
    # Nothing left to do: a second run deletes nothing.
    assert await prune_history(client.app) == type(pruned)(alerts=0, events=0)


async def test_an_alert_alertmanager_still_sends_stays(
    client: BridgeClient, database_url: str
) -> None:
    """Resolved by a user long ago, but still firing in Alertmanager: deleting it would let
    the next re-send open it again as new."""
    await post_payload(client, make_payload(make_alert("resent")))
    alert_id = (await ids(client))["resent"]
    await api_call(client, "POST", f"/api/v1/alerts/{alert_id}/resolve", {"by": "a"})
    await backdate(
        database_url, "alert_instances", ("created_at", "updated_at"), f"id = {alert_id}"
    )
    assert (await prune_history(client.app)).alerts == 0  # its receipt is recent

    await backdate(
        database_url, "alert_receipts", ("first_received_at", "last_received_at"), "1 = 1"
    )
    assert (await prune_history(client.app)).alerts == 1


async def test_a_primary_waits_for_the_duplicates_merged_into_it(
    client: BridgeClient, database_url: str
) -> None:
    await post_payload(client, make_payload(make_alert("primary")))  # the older of the two
    await post_payload(client, make_payload(make_alert("dup")))
    await post_payload(
        client,
        make_payload(
            make_alert("primary", status="resolved"), make_alert("dup", status="resolved")
        ),
    )
    found = await ids(client)
    await execute(
        database_url,
        f"UPDATE alert_instances SET primary_id = {found['primary']} WHERE id = {found['dup']}",  # noqa: S608
    )
    await age_everything(database_url, ("primary",))

    assert (await prune_history(client.app)).alerts == 0  # "dup" is recent and names it

    await age_everything(database_url, ("dup",))
    cutoff = datetime.now(UTC) - timedelta(days=365)
    # One candidate per batch, still one group: the primary takes its duplicate along.
    assert (await client.app[STORE].prune_history(before=cutoff, limit=1)).alerts == 2
    assert await get_alerts(client) == []


async def test_batches_are_bounded(client: BridgeClient, database_url: str) -> None:
    names = ("b1", "b2", "b3")
    await post_payload(client, make_payload(*(make_alert(n) for n in names)))
    await post_payload(client, make_payload(*(make_alert(n, status="resolved") for n in names)))
    await age_everything(database_url, names)
    store = client.app[STORE]
    cutoff = datetime.now(UTC) - timedelta(days=365)

    first = await store.prune_history(before=cutoff, limit=2)
    second = await store.prune_history(before=cutoff, limit=2)

    assert (first.alerts, first.events, second.alerts, second.events) == (2, 2, 1, 1)


async def test_retention_off_keeps_everything(database_url: str) -> None:
    config = bridge_config(database_url, lifecycle={"history_retention_days": None})
    async with TestClient(TestServer(create_app(config))) as client:
        await post_payload(client, make_payload(make_alert("kept", status="resolved")))
        await age_everything(database_url, ("kept",))
        assert (await prune_history(client.app)).alerts == 0
        assert [a["fingerprint"] for a in await get_alerts(client)] == ["kept"]


def test_retention_must_outlive_the_dedupe_window() -> None:
    with pytest.raises(ValidationError, match=r"lifecycle\.history_retention_days") as caught:
        bridge_config(
            "sqlite:///x.db",
            lifecycle={"history_retention_days": 2},
            dedupe={"window": 3 * 86400},
        )
    assert "longer than dedupe.window" in str(caught.value)


async def test_an_alert_with_pipeline_work_pending_stays(
    client: BridgeClient, database_url: str
) -> None:
    await post_payload(client, make_payload(make_alert("queued")))
    await post_payload(client, make_payload(make_alert("queued", status="resolved")))
    await age_everything(database_url, ("queued",))
    # As if a re-delivered receipt were still waiting for the pipeline.
    await execute(
        database_url,
        "INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, "
        "first_received_at) SELECT fingerprint, starts_at, status, payload_id, "
        "first_received_at FROM alert_receipts WHERE status = 'resolved'",
    )
    assert (await prune_history(client.app)).alerts == 0

    await execute(database_url, "DELETE FROM pending_receipts")
    assert (await prune_history(client.app)).alerts == 1


async def test_a_run_continues_while_batches_are_full_within_its_time_budget(
    client: BridgeClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("c1", "c2", "c3", "c4")
    await post_payload(client, make_payload(*(make_alert(n) for n in names)))
    await post_payload(client, make_payload(*(make_alert(n, status="resolved") for n in names)))
    await age_everything(database_url, names)
    monkeypatch.setattr(sweep, "PRUNE_BATCH", 1)

    monkeypatch.setattr(sweep, "HISTORY_PRUNE_BUDGET_SECONDS", -1.0)  # spent: one batch only
    assert (await prune_history(client.app)).alerts == 1
    monkeypatch.setattr(sweep, "HISTORY_PRUNE_BUDGET_SECONDS", 60.0)
    assert (await prune_history(client.app)).alerts == 3
