"""Escalation scheduler tick with 100,000 open alerts (target: < 100 ms per tick).

Fills a fresh store with open alerts by one bulk insert (all L1s already claimed, the next
level hours away), makes ``--due`` of them due, and times ticks. SQLite in a temporary
directory by default; ``--postgres URL`` (a server's admin URL) creates a scratch database
there, runs the same ticks and drops it::

    .venv/bin/python -m benchmarks.escalation.bench_tick --alerts 100000 --due 100
    .venv/bin/python -m benchmarks.escalation.bench_tick --alerts 100000 --due 100 \
        --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from benchmarks.scratch import scratch_database
from bridge.escalation.access import escalation_store
from bridge.escalation.policy import EscalationConfig, Level
from bridge.escalation.records import Claim, DueAlert
from bridge.escalation.scheduler import EscalationScheduler
from bridge.store import AlertStore, open_store
from bridge.store.sqlite_sql import to_text

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def fill(path: Path, alerts: int, due: int) -> None:
    created = to_text(NOW - timedelta(minutes=5))
    later = to_text(NOW + timedelta(minutes=10))  # L2 of a critical alert: not due yet
    with sqlite3.connect(path) as c:
        c.executemany(
            "INSERT INTO alert_instances (fingerprint, severity, am_status, status, labels, "
            "annotations, starts_at, created_at, updated_at, title) "
            "VALUES (?, 'critical', 'firing', 'open', '{}', '{}', ?, ?, ?, ?)",
            ((f"fp{i}", created, created, created, f"alert {i}") for i in range(alerts)),
        )
        c.execute(
            "INSERT INTO escalation_schedule (alert_id, next_at) "
            "SELECT id, CASE WHEN id <= ? THEN created_at ELSE ? END FROM alert_instances",
            (due, later),
        )


async def fill_postgres(url: str, alerts: int, due: int) -> None:
    created = NOW - timedelta(minutes=5)
    later = NOW + timedelta(minutes=10)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "alert_instances",
            columns=["fingerprint", "severity", "am_status", "status", "labels", "annotations",
                     "starts_at", "created_at", "updated_at", "title"],
            records=(
                (f"fp{i}", "critical", "firing", "open", "{}", "{}", created, created, created,
                 f"alert {i}")
                for i in range(alerts)
            ),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO escalation_schedule (alert_id, next_at) "
            "SELECT id, CASE WHEN id <= $1 THEN created_at ELSE $2 END FROM alert_instances",
            due,
            later,
        )
        await conn.execute("ANALYZE alert_instances")
        await conn.execute("ANALYZE escalation_schedule")
    finally:
        await conn.close()


@asynccontextmanager
async def filled_store(postgres: str | None, alerts: int, due: int) -> AsyncIterator[AlertStore]:
    """A store holding the benchmark's alerts: SQLite in a temp dir, or a scratch PG database."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            store = await open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            fill(Path(tmp) / "bench.db", alerts, due)
            try:
                yield store
            finally:
                await store.close()
        return
    async with scratch_database(postgres, "secmon_bench_tick") as url:
        store = await open_store(url)
        try:
            await fill_postgres(url, alerts, due)
            yield store
        finally:
            await store.close()


async def main(alerts: int, due: int, ticks: int, postgres: str | None = None) -> None:
    async with filled_store(postgres, alerts, due) as store:
        sent = 0

        async def on_claimed(alert: DueAlert, claim: Claim) -> None:
            nonlocal sent
            sent += 1

        def route(alert: DueAlert, level: Level) -> list[str]:
            return ["bench"]

        scheduler = EscalationScheduler(
            config=EscalationConfig(),
            store=lambda: escalation_store(store),
            route=route,
            on_claimed=on_claimed,
            now=lambda: NOW,
        )
        timings = []
        for _ in range(ticks):
            t0 = time.perf_counter()
            await scheduler.tick()
            timings.append((time.perf_counter() - t0) * 1000)
    backend = "PostgreSQL" if postgres else "SQLite"
    print(f"{backend}: {alerts} open alerts, {due} due: first tick {timings[0]:.1f} ms "
          f"(claimed {sent}), then median {statistics.median(timings[1:]):.2f} ms, "
          f"max {max(timings[1:]):.2f} ms over {ticks - 1} idle ticks")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", help="server admin URL; default SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.alerts, args.due, args.ticks, args.postgres))
