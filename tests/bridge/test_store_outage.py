"""When the store is unavailable the receiver answers 503, and nothing acknowledged is lost.

PostgreSQL is made unavailable for real: a TCP proxy between the bridge and the server is cut
(connections aborted, port closed) and restored. SQLite is made unavailable the way it happens
in practice: another process holds the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import StartupError, create_app
from bridge.config import BridgeConfig
from bridge.keys import METRICS, PIPELINE, STORE
from bridge.metrics import BridgeMetrics
from bridge.pipeline.worker import LEASE, PipelineWorker
from tests.bridge.helpers import (
    API_TOKEN,
    BridgeClient,
    bearer,
    bridge_config,
    drain,
    drop_bridge_tables,
    make_alert,
    make_payload,
    post_payload,
    query,
)
from tests.bridge.tcp_proxy import TcpProxy
from tests.harness.services import free_port
from tests.harness.wait import wait_until

pytestmark = pytest.mark.timeout(60)


def via_proxy(url: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def deliver_until_stored(
    client: BridgeClient, payload: dict[str, Any], *, timeout: float = 20
) -> None:
    """Post like Alertmanager does: retry 5xx until a 2xx (4xx would be a test failure)."""

    async def attempt() -> bool:
        status, body = await post_payload(client, payload)
        assert status < 400 or status >= 500, body
        return status == 200

    await wait_until(attempt, timeout=timeout, interval=0.1, what="the delivery to be stored")


async def sweep_after_the_lease(client: BridgeClient) -> None:
    """One recovery sweep, as a bridge would run it once the lease ran out (a clock ahead)."""
    later = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    worker = PipelineWorker(
        client.app[PIPELINE],
        store=lambda: client.app[STORE],
        metrics=BridgeMetrics(),
        sweep_interval=3600,
        clock=lambda: later,
    )
    # Claimed before the worker starts: its own first sweep, which a stop may cancel while
    # its claim is in flight, then finds nothing left to claim.
    await worker.sweep()
    await worker.start()
    try:
        await worker.join()
    finally:
        await worker.stop()


async def start_and_close(config: BridgeConfig) -> None:
    server = TestServer(create_app(config))
    try:
        await server.start_server()
    finally:
        await server.close()


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[BridgeClient, TcpProxy, str]]:
    await drop_bridge_tables(postgres_url)
    target = urlsplit(postgres_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    port = await proxy.start()
    config = bridge_config(via_proxy(postgres_url, port), store={"timeout_seconds": 1.0})
    try:
        async with TestClient(TestServer(create_app(config))) as client:
            yield client, proxy, postgres_url
    finally:
        await proxy.close()


@pytest.mark.postgres
async def test_postgres_cut_gives_503_and_redelivery_is_stored(
    proxied: tuple[BridgeClient, TcpProxy, str],
) -> None:
    client, proxy, postgres_url = proxied
    before = make_payload(make_alert("before-cut"))
    during = make_payload(make_alert("during-cut"))
    assert (await post_payload(client, before))[0] == 200

    await proxy.cut()
    status, body = await post_payload(client, during)
    assert status == 503
    assert body == {"error": "alert store unavailable; retry later"}
    async with client.get("/-/ready") as response:
        assert response.status == 503
    async with client.get("/api/v1/alerts", headers=bearer(API_TOKEN)) as response:
        assert response.status == 503
    metrics = client.app[METRICS].registry
    assert metrics.get_sample_value("secmon_bridge_store_up") == 0
    assert metrics.get_sample_value("secmon_bridge_webhook_requests_total", {"code": "503"}) == 1

    await proxy.restore()
    await deliver_until_stored(client, during)

    rows = await query(postgres_url, "SELECT fingerprint FROM alert_instances ORDER BY id")
    assert rows == [("before-cut",), ("during-cut",)]
    async with client.get("/-/ready") as response:
        assert response.status == 200
    assert metrics.get_sample_value("secmon_bridge_store_up") == 1


@pytest.mark.postgres
async def test_postgres_cut_mid_load_loses_no_acknowledged_alert(
    proxied: tuple[BridgeClient, TcpProxy, str],
) -> None:
    client, proxy, postgres_url = proxied
    acknowledged: set[str] = set()
    refused = 0

    async def sender(name: str, count: int) -> None:
        nonlocal refused
        for i in range(count):
            fingerprints = [f"{name}-{i}-{k}" for k in range(5)]
            payload = make_payload(*(make_alert(fp) for fp in fingerprints))
            while True:
                # As Alertmanager sends: without waiting for the pipeline.
                status, body = await post_payload(client, payload, wait_for_pipeline=False)
                if status == 200:
                    acknowledged.update(fingerprints)
                    break
                assert status in (500, 503), body
                refused += 1
                await asyncio.sleep(0.05)

    async def under_load() -> bool:
        return len(acknowledged) >= 50

    async def outage() -> None:
        await wait_until(under_load, timeout=20, interval=0.01, what="load before the cut")
        await proxy.cut()
        await asyncio.sleep(1.0)
        await proxy.restore()

    await asyncio.gather(outage(), *(sender(f"s{n}", 40) for n in range(4)))

    assert refused > 0, "the outage should have refused some deliveries"
    assert len(acknowledged) == 4 * 40 * 5
    # Durable when acknowledged: every alert's receipt (the raw payload holds its labels).
    rows = await query(postgres_url, "SELECT fingerprint FROM alert_receipts")
    assert acknowledged <= {row[0] for row in rows}
    # And the pipeline, which met the outage too, writes each alert once it is over: the
    # worker retries what it holds, and the recovery sweep takes what nobody holds (a
    # delivery that committed while its answer was lost: Alertmanager's retry is a re-send).
    await drain(client)
    await sweep_after_the_lease(client)
    rows = await query(postgres_url, "SELECT fingerprint FROM alert_instances")
    stored = [row[0] for row in rows]
    assert len(stored) == len(set(stored))
    assert acknowledged <= set(stored)
    assert await query(postgres_url, "SELECT count(*) FROM pending_receipts") == [(0,)]


async def test_sqlite_locked_by_another_writer_gives_503_then_stores(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    config = bridge_config(f"sqlite:///{path}", store={"timeout_seconds": 0.3})
    async with TestClient(TestServer(create_app(config))) as client:
        locker = sqlite3.connect(path, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            status, _ = await post_payload(client, make_payload(make_alert("locked-out")))
            assert status == 503
        finally:
            with contextlib.suppress(sqlite3.Error):
                locker.execute("ROLLBACK")
            locker.close()
        await deliver_until_stored(client, make_payload(make_alert("locked-out")))
        await sweep_after_the_lease(client)  # in case the locked write had committed
        rows = await query(f"sqlite:///{path}", "SELECT fingerprint FROM alert_instances")
        assert rows == [("locked-out",)]


async def test_unreachable_postgres_at_start_fails_clearly_without_the_password() -> None:
    url = f"postgresql://secmon:hunter2-secret@127.0.0.1:{free_port()}/secmon"
    config = bridge_config(url, store={"timeout_seconds": 1.0})
    with pytest.raises(StartupError) as caught:
        await start_and_close(config)
    message = str(caught.value)
    assert "cannot connect to PostgreSQL" in message
    assert "secmon:***@127.0.0.1" in message
    assert "hunter2" not in message


async def test_unopenable_sqlite_file_fails_clearly(tmp_path: Path) -> None:
    config = bridge_config(f"sqlite:///{tmp_path / 'missing-dir' / 'bridge.db'}")
    with pytest.raises(StartupError, match=r"missing-dir/bridge\.db"):
        await start_and_close(config)
