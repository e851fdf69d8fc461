"""History retention speed: how fast ``prune_history`` deletes old finished alerts.

Fills a fresh store through its own interface: ``--alerts`` alerts in deliveries of 10, each
delivery recorded and then written by the pipeline's lifecycle write (timeline, occurrence,
security event, escalation schedule entry), one alert in ten linked as a duplicate of the
alert before it. Then every alert is made resolved and 400 days old, and ``prune_history``
runs in batches of 1,000 (as the retention chore does) until nothing is left. Prints the
alerts deleted per second and the batch times; a batch is one transaction, so its time is how
long retention holds the writer (SQLite) or the rows (PostgreSQL).

SQLite in a temporary directory by default; ``--postgres URL`` (a server's admin URL) creates
a scratch database there and drops it afterwards::

    .venv/bin/python -m benchmarks.bridge.bench_retention --alerts 50000
    .venv/bin/python -m benchmarks.bridge.bench_retention --alerts 50000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.scratch import scratch_database
from bridge.alertmanager import parse_payload, to_delivery
from bridge.dedupe import DedupeDecision
from bridge.pipeline.base import Batch
from bridge.pipeline.lifecycle import processing_write
from bridge.store import AlertStore, open_store
from bridge.store.base import AlertQuery
from bridge.sweep import PRUNE_BATCH

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PER_DELIVERY = 10


def payload(n: int) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "KongHttpAdminApi",
                "rule_id": f"rule_{(n * PER_DELIVERY + i) % 40}",
                "severity": "high",
                "asset": f"asset-{(n * PER_DELIVERY + i) % 5000}",
            },
            "annotations": {"title": f"alert {n}-{i}"},
            "startsAt": "2026-11-25T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": f"fp-{n}-{i}",
        }
        for i in range(PER_DELIVERY)
    ]
    body = {
        "version": "4",
        "groupKey": f"group-{n}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "secmon-bridge",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    return json.dumps(body).encode()


async def fill(store: AlertStore, alerts: int) -> None:
    for n in range(alerts // PER_DELIVERY):
        body = payload(n)
        delivery = to_delivery(parse_payload(body), body, received_at=NOW)
        receipts = await store.record_delivery(delivery)
        ids = [r.instance_id for r in receipts]
        # The last alert of each delivery repeats the one before it.
        duplicate = DedupeDecision(ids[-2], 0.9, exact=False, reasons=())
        batch = Batch(delivery=delivery, receipts=receipts, dedupe={ids[-1]: duplicate})
        await store.apply_processing(processing_write([batch]))


AGE_SQLITE = "strftime('%Y-%m-%dT%H:%M:%f', {0}, '-400 days') || '000Z'"
AGE_POSTGRES = "{0} - interval '400 days'"


AGED = {
    "alert_instances": ("created_at", "updated_at"),
    "alert_receipts": ("first_received_at", "last_received_at"),
    "security_events": ("created_at",),
}


def age_statements(age: str) -> list[str]:
    """Every alert resolved and 400 days old, with its receipts and security events."""
    statements = []
    for table, columns in AGED.items():
        moved = ", ".join(f"{column} = {age.format(column)}" for column in columns)
        resolved = "status = 'resolved', " if table == "alert_instances" else ""
        statements.append(f"UPDATE {table} SET {resolved}{moved}")  # noqa: S608  # fixed names
    return statements


@asynccontextmanager
async def filled_store(postgres: str | None, alerts: int) -> AsyncIterator[AlertStore]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            store = await open_store(url)
            try:
                await fill(store, alerts)
                await store.close()
                with sqlite3.connect(Path(tmp) / "bench.db") as c:
                    for statement in age_statements(AGE_SQLITE):
                        c.execute(statement)
                store = await open_store(url)
                yield store
            finally:
                await store.close()
        return
    async with scratch_database(postgres, "secmon_bench_retention") as url:
        store = await open_store(url)
        try:
            await fill(store, alerts)
            connection = await asyncpg.connect(url, timeout=10)
            try:
                for statement in age_statements(AGE_POSTGRES):
                    await connection.execute(statement)
                await connection.execute("VACUUM ANALYZE")
            finally:
                await connection.close()
            yield store
        finally:
            await store.close()


async def main(alerts: int, postgres: str | None) -> dict[str, Any]:
    async with filled_store(postgres, alerts) as store:
        cutoff = datetime.now(UTC) - timedelta(days=365)
        times: list[float] = []
        deleted = events = 0
        while True:
            started = time.perf_counter()
            done = await store.prune_history(before=cutoff, limit=PRUNE_BATCH)
            times.append(time.perf_counter() - started)
            deleted += done.alerts
            events += done.events
            if not done.more:
                break
        left = len((await store.list_alerts(AlertQuery(limit=PRUNE_BATCH))).alerts)
    total = sum(times)
    return {
        "store": "postgres" if postgres else "sqlite",
        "alerts": alerts,
        "deleted": deleted,
        "security_events_deleted": events,
        "left": left,
        "batches": len(times),
        "seconds": round(total, 3),
        "alerts_per_second": round(deleted / total) if total else None,
        "batch_ms_median": round(statistics.median(times) * 1000, 1),
        "batch_ms_max": round(max(times) * 1000, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=50_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.alerts, args.postgres)), indent=2))
