"""Fan-out: 1,000 new alerts to a webhook sink through the bridge's routing path (target: ≤ 5 s).

The path a new alert takes in the running bridge, with nothing stubbed but the far end: a SQLite
store holds ``--alerts`` open alerts whose L1 is due and whose ``channels`` label names the
``sink`` channel; one :meth:`EscalationScheduler.tick` claims them, the :class:`Router` picks
the channel, the :class:`Dispatcher` builds each notification and hands it to the
:class:`Deliverer`, whose :class:`WebhookNotifier` POSTs it signed (HMAC-SHA256) to the
in-process webhook sink of :mod:`bridge.fakes.webhook`, which verifies every signature; each
attempt and each message reference are written to the store. Timed from the tick to the last
delivery; per-delivery latency is the send attempt's, as the delivery log records it::

    .venv/bin/python -m benchmarks.notify.bench_fanout --alerts 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.escalation.access import escalation_store
from bridge.escalation.policy import EscalationConfig
from bridge.escalation.scheduler import EscalationScheduler
from bridge.fakes.webhook import FakeWebhookSink
from bridge.notify.delivery import Deliverer, DeliveryAttempt, DeliveryLog, NotificationMetrics
from bridge.notify.webhook import WebhookConfig, WebhookNotifier
from bridge.routing.config import RoutingConfig
from bridge.routing.dispatch import Dispatcher
from bridge.routing.ratelimit import MemoryRateLimiter
from bridge.routing.router import Router
from bridge.store import open_store
from bridge.store.sqlite_sql import to_text

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SECRET = "bench-webhook-secret"  # noqa: S105 - a benchmark's throwaway signing key


def fill(path: Path, alerts: int) -> None:
    """New critical alerts, L1 due now, each naming the ``sink`` channel."""
    created = to_text(NOW - timedelta(seconds=1))
    labels = json.dumps({"channels": "sink", "asset": "edge", "platform": "kong"})
    with sqlite3.connect(path) as c:
        c.executemany(
            "INSERT INTO alert_instances (fingerprint, severity, am_status, status, labels, "
            "annotations, starts_at, created_at, updated_at, title) "
            "VALUES (?, 'critical', 'firing', 'open', ?, '{}', ?, ?, ?, ?)",
            ((f"fp{i}", labels, created, created, created, f"alert {i}") for i in range(alerts)),
        )
        c.execute(
            "INSERT INTO escalation_schedule (alert_id, next_at) "
            "SELECT id, created_at FROM alert_instances"
        )


@dataclass
class TimedLog:
    """The store's delivery log, also keeping each attempt's latency for the percentiles."""

    inner: DeliveryLog
    latencies: list[float] = field(default_factory=list)

    async def record(self, attempt: DeliveryAttempt) -> None:
        self.latencies.append(attempt.latency_seconds)
        await self.inner.record(attempt)

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> list[DeliveryAttempt]:
        return await self.inner.attempts(alert_id=alert_id, channel=channel)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(alerts: int) -> float:
    sink = FakeWebhookSink(secret=SECRET)
    runner = web.AppRunner(sink.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        fill(Path(tmp) / "bench.db", alerts)
        escalation = EscalationConfig()  # the default batch size: several store rounds
        async with aiohttp.ClientSession() as session:
            notifier = WebhookNotifier(
                name="sink",
                config=WebhookConfig(url=f"http://127.0.0.1:{port}/hook", secret=SECRET),
                session=session,
            )
            log = TimedLog(escalation_store(store))
            deliverer = Deliverer(
                notifiers={"sink": notifier},
                log=log,
                dead_letters=escalation_store(store),
                metrics=NotificationMetrics(registry=CollectorRegistry(), channels=["sink"]),
            )
            router = Router(RoutingConfig(), escalation, configured={"sink"})
            dispatcher = Dispatcher(
                deliverer=deliverer,
                store=lambda: escalation_store(store),
                alerts=lambda: store,
                router=router,
                limiter=MemoryRateLimiter({}),
                now=lambda: NOW,
            )
            scheduler = EscalationScheduler(
                config=escalation,
                store=lambda: escalation_store(store),
                route=router,
                on_claimed=dispatcher.escalate,
                now=lambda: NOW,
            )
            t0 = time.perf_counter()
            claims = await scheduler.tick()
            await dispatcher.idle()
            total = time.perf_counter() - t0
        await store.close()
    await runner.cleanup()
    received, verified = len(sink.requests), len(sink.verified)
    assert len(claims) == alerts, f"claimed {len(claims)} of {alerts}"
    assert verified == alerts, f"sink verified {verified} of {received} requests"
    ms = [1000 * s for s in log.latencies]
    print(
        f"{alerts} alerts → webhook sink: {total:.2f} s total ({alerts / total:.0f}/s), "
        f"{verified} signed deliveries verified; per-delivery latency "
        f"p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms "
        f"(mean {statistics.fmean(ms):.1f} ms)"
    )
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--target-seconds", type=float, default=5.0)
    args = parser.parse_args()
    took = asyncio.run(main(args.alerts))
    if took > args.target_seconds:
        raise SystemExit(f"over the {args.target_seconds:.0f} s target")
