"""PostgreSQL's group commit of deliveries: one statement for what arrives together, and a
delivery the database refuses fails alone."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.alertmanager import parse_payload, to_delivery
from bridge.app import create_app
from bridge.store import open_store
from bridge.store.base import AlertQuery, Delivery, StoreError
from bridge.store.postgres import PostgresStore
from tests.bridge.helpers import (
    bridge_config,
    drop_bridge_tables,
    make_alert,
    make_payload,
    post_payload,
    query,
)

pytestmark = pytest.mark.postgres

RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def delivery(*fingerprints: str, **labels: str) -> Delivery:
    payload = make_payload(*(make_alert(f, **labels) for f in fingerprints))
    body = json.dumps(payload).encode()
    return to_delivery(parse_payload(body), body, received_at=RECEIVED)


async def test_deliveries_that_arrive_together_share_one_statement(postgres_url: str) -> None:
    await drop_bridge_tables(postgres_url)
    store = await open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    try:
        await store.record_delivery(delivery("warm-up"))  # statements prepared, pool warm
        results = await asyncio.gather(
            *(store.record_delivery(delivery(f"g{n}")) for n in range(8))
        )
    finally:
        await store.close()
    assert [r.created for batch in results for r in batch] == [True] * 8
    # Rows one transaction wrote share its id (xmin). Eight deliveries queued at once: the
    # first starts a write, and whatever queued before it ran goes with it or right after.
    transactions = await query(
        postgres_url,
        "SELECT count(DISTINCT xmin::text) FROM alert_receipts WHERE fingerprint LIKE 'g%'",
    )
    assert transactions[0][0] <= 2
    assert await query(postgres_url, "SELECT count(*) FROM alert_receipts") == [(9,)]


async def test_a_delivery_the_database_refuses_fails_alone(postgres_url: str) -> None:
    """PostgreSQL's text cannot hold a NUL character (the receiver refuses one in a payload,
    so a delivery carrying one is built here): that delivery is refused, and only its webhook
    gets the error; the deliveries it shared a statement with are stored."""
    await drop_bridge_tables(postgres_url)
    store = await open_store(postgres_url)
    try:
        good = [delivery("ok-1"), delivery("ok-2")]
        bad = dataclasses.replace(delivery("bad"), group_key="nul\u0000byte")
        outcomes = await asyncio.gather(
            store.record_delivery(good[0]),
            store.record_delivery(bad),
            store.record_delivery(good[1]),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], StoreError)
        assert "0x00" in str(outcomes[1])
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)
        assert await query(postgres_url, "SELECT fingerprint FROM alert_receipts ORDER BY 1") == [
            ("ok-1",),
            ("ok-2",),
        ]
        assert (await store.list_alerts(AlertQuery())).alerts == []  # receipts, not processed
    finally:
        await store.close()


async def test_group_sizes_are_on_metrics(postgres_url: str) -> None:
    """`secmon_bridge_store_delivery_group_size` counts one observation per statement."""
    await drop_bridge_tables(postgres_url)
    async with TestClient(TestServer(create_app(bridge_config(postgres_url)))) as client:
        payloads = [make_payload(make_alert(f"m{n}")) for n in range(6)]
        statuses = await asyncio.gather(
            *(post_payload(client, p, wait_for_pipeline=False) for p in payloads)
        )
        assert [status for status, _ in statuses] == [200] * 6
        async with client.get("/metrics") as response:
            text = await response.text()
    observed = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("secmon_bridge_store_delivery_group_size_")
    }
    assert observed["secmon_bridge_store_delivery_group_size_sum"] == 6  # every delivery
    assert 1 <= observed["secmon_bridge_store_delivery_group_size_count"] <= 6


async def test_a_deadlocked_delivery_statement_runs_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas' groups can hold the same bodies in opposite orders; PostgreSQL then rolls
    one statement back as a deadlock victim. The store runs it again: the webhook gets its
    results, not a 503, and the alerts are stored once."""
    await drop_bridge_tables(postgres_url)
    store = await open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    calls = 0
    real = store._with_connection

    async def deadlock_once(fn: Any) -> Any:
        class Victim:
            def __init__(self, connection: Any) -> None:
                self._connection = connection

            async def fetch(self, *args: Any) -> Any:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
                return await self._connection.fetch(*args)

        return await real(lambda connection: fn(Victim(connection)))

    monkeypatch.setattr(store, "_with_connection", deadlock_once)
    try:
        results = await store.record_delivery(delivery("dl-1", "dl-2"))
    finally:
        monkeypatch.undo()
        await store.close()
    assert calls == 2
    assert [r.created for r in results] == [True, True]
    assert await query(postgres_url, "SELECT count(*) FROM alert_receipts") == [(2,)]
