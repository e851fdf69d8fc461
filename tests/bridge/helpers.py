"""Helpers for bridge tests: webhook payloads, a test config, and HTTP calls to the bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.config import BridgeConfig
from bridge.store import AlertStore
from bridge.store.base import Delivery, ReceiptResult
from bridge.store.sqlite import sqlite_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "alertmanager"
WEBHOOK_TOKEN = "webhook-token-5f1e2d"
API_TOKEN = "api-token-9a8b7c"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"
BRIDGE_TABLES = (
    "escalation_schedule",
    "pending_receipts",
    "notification_messages",
    "dead_letters",
    "notifications",
    "escalations",
    "compliance_assessments",
    "compliance_controls",
    "compliance_frameworks",
    "assets",
    "security_events",
    "alert_occurrences",
    "alert_timeline",
    "alert_receipts",
    "alert_instances",
    "webhook_payloads",
    "schema_migrations",
)

BridgeClient = TestClient[web.Request, web.Application]


def example(name: str) -> dict[str, Any]:
    """A payload from ``examples/alertmanager/`` (without ``.json``)."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def make_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    starts_at: str = "2026-11-25T09:00:00.5Z",
    ends_at: str = GO_ZERO_TIME,
    **labels: str,
) -> dict[str, Any]:
    """One v4 alert; label keyword arguments override the defaults below."""
    all_labels = {
        "alertname": "KongHttpAdminApi",
        "rule_id": "kong_http_admin_api",
        "severity": "critical",
        "asset": f"asset-{fingerprint}",
        **labels,
    }
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"title": f"title of {fingerprint}", "message": "m"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def make_payload(*alerts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A v4 payload around ``alerts``; keyword arguments override top-level fields."""
    firing = any(alert["status"] == "firing" for alert in alerts)
    payload: dict[str, Any] = {
        "receiver": "secmon-bridge",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "KongHttpAdminApi"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="KongHttpAdminApi"}',
        "truncatedAlerts": 0,
    }
    payload.update(fields)
    return payload


def bridge_config(database_url: str, **overrides: Any) -> BridgeConfig:
    settings: dict[str, Any] = {
        "database_url": database_url,
        "webhook_token": WEBHOOK_TOKEN,
        "api_token": API_TOKEN,
        "store": {"timeout_seconds": 2.0, "probe_interval_seconds": 0.5},
    }
    settings.update(overrides)
    return BridgeConfig(**settings)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_payload(
    client: BridgeClient,
    payload: dict[str, Any],
    *,
    token: str = WEBHOOK_TOKEN,
    wait_for_pipeline: bool = True,
) -> tuple[int, dict[str, Any]]:
    """POST a webhook; by default, then wait until the pipeline ran what it queued."""
    async with client.post(
        "/api/v1/alertmanager", data=json.dumps(payload), headers=bearer(token)
    ) as response:
        result = response.status, await response.json()
    if wait_for_pipeline:
        await drain(client)
    return result


async def record_and_process(store: AlertStore, delivery: Delivery) -> list[ReceiptResult]:
    """Record ``delivery`` and run the pipeline's write for it (no classification, no dedupe),
    as the worker does after the receiver answered: its alert instances exist afterwards.
    Returns the receipts as the stages after the write see them."""
    from bridge.pipeline.base import Batch
    from bridge.pipeline.lifecycle import applied, processing_write

    results = await store.record_delivery(delivery)
    batch = Batch(delivery=delivery, receipts=results)
    write = processing_write([batch])
    if not write.processed:
        return results
    return list(applied(batch, await store.apply_processing(write)).receipts)


async def drain(client: BridgeClient) -> None:
    """Wait until the pipeline worker has run every queued delivery (it runs after the 2xx)."""
    from bridge.pipeline.worker import WORKER

    worker = client.app.get(WORKER)
    if worker is not None:
        await worker.join()


async def get_alerts(client: BridgeClient, **params: str) -> list[dict[str, Any]]:
    async with client.get("/api/v1/alerts", params=params, headers=bearer(API_TOKEN)) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        alerts: list[dict[str, Any]] = body["alerts"]
        return alerts


async def query(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` read straight from the store's database (either backend).

    JSON columns come back as JSON text from both backends.
    """
    if database_url.startswith("sqlite:"):
        path = sqlite_path(database_url)

        def run() -> list[tuple[Any, ...]]:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                return connection.execute(statement).fetchall()

        return await asyncio.to_thread(run)
    import asyncpg

    connection = await asyncpg.connect(database_url, timeout=5)
    try:
        return [tuple(row) for row in await connection.fetch(statement)]
    finally:
        await connection.close()


async def execute(database_url: str, statement: str) -> None:
    """Run one write straight against the store's database (either backend) and commit it."""
    if database_url.startswith("sqlite:"):
        path = sqlite_path(database_url)

        def run() -> None:
            with contextlib.closing(sqlite3.connect(path)) as connection, connection:  # commits
                connection.execute(statement)

        await asyncio.to_thread(run)
        return
    import asyncpg

    connection = await asyncpg.connect(database_url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def drop_bridge_tables(postgres_url: str) -> None:
    """Empty the PostgreSQL test database, so the next store open migrates from scratch."""
    import asyncpg

    connection = await asyncpg.connect(postgres_url, timeout=5)
    try:
        await connection.execute(f"DROP TABLE IF EXISTS {', '.join(BRIDGE_TABLES)} CASCADE")
    finally:
        await connection.close()


async def api_call(
    client: BridgeClient, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """An authenticated call to the bridge API; returns status and JSON body."""
    async with client.request(method, path, json=body, headers=bearer(API_TOKEN)) as response:
        return response.status, await response.json()


def metric(client: BridgeClient, name: str, **labels: str) -> float | None:
    """A sample from the app's own registry."""
    from bridge.keys import METRICS

    value: float | None = client.app[METRICS].registry.get_sample_value(name, labels)
    return value


def start_serve(args: Sequence[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``secmon-bridge serve ARGS`` as a real process from this checkout, output in ``log``."""
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "serve", *args],
            env=env,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
