"""Acceptance: a traffic spike and a failed-login burst in a real Prometheus raise the right scores.

A tiny exporter the test controls (a prometheus-client registry served by aiohttp) publishes
requests per second for two services and failed-login counters for two identities; a real
Prometheus scrapes it every second; the anomaly scheduler runs in-process against that
Prometheus with a 1 s step and a 1 s scoring interval. After ~20 s of normal behaviour the test
injects a spike on one service and a burst on one identity and checks that exactly those two
series go above 1 within two scoring intervals (plus the scrape and grid delay that any data
has before Prometheus can answer for it), while the normal series stay below 1.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from bridge.anomaly.config import AnomalyConfig
from bridge.anomaly.prometheus_api import PrometheusClient
from bridge.anomaly.publish import SchedulerMetrics, ScoreCollector
from bridge.anomaly.scheduler import AnomalyScheduler
from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import prometheus_process, write_yaml
from tests.harness.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

LEARN_SECONDS = 20.0
SCRAPE = 1.0
SCORE_EVERY = 1.0
# Data reaches Prometheus one scrape after it changes, and a grid point one step after that.
DETECTION_BUDGET = 2 * SCORE_EVERY + SCRAPE + 1.0


class ControlledExporter:
    """Normal traffic and login failures, with switches for the spike and the burst."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rps = Gauge(
            "demo_requests_per_second", "Requests/s.", ["service"], registry=self.registry
        )
        self.failures = Counter(
            "demo_login_failures", "Failed logins.", ["identity"], registry=self.registry
        )
        self.spike_service: str | None = None
        self.burst_identity: str | None = None
        self._rng = random.Random(7)

    def tick(self) -> None:
        """Called every 0.1 s: ~100 req/s per service, ~1 failed login/s per identity."""
        for service in ("checkout", "search"):
            base = 400.0 if service == self.spike_service else 100.0
            self.rps.labels(service).set(base + self._rng.uniform(-5, 5))
        for identity in ("alice", "bob"):
            n = 1 if self._rng.random() < 0.1 else 0
            if identity == self.burst_identity:
                n += 5  # 50 failed logins per second: credential stuffing
            self.failures.labels(identity).inc(n)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")


@pytest.fixture
async def exporter() -> AsyncIterator[tuple[ControlledExporter, int]]:
    controlled = ControlledExporter()
    app = web.Application()
    app.router.add_get("/metrics", controlled.metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    async def ticking() -> None:
        while True:
            controlled.tick()
            await asyncio.sleep(0.1)

    task = asyncio.create_task(ticking())
    try:
        yield controlled, port
    finally:
        task.cancel()
        await runner.cleanup()


def anomaly_config(prometheus_url: str, state_dir: Path) -> AnomalyConfig:
    common = {"step": "1s", "score_every": "1s", "fit_window": "2m", "timeout": "2s"}
    return AnomalyConfig.model_validate(
        {
            "prometheus_url": prometheus_url,
            "state_dir": str(state_dir),
            "queries": [
                {
                    "name": "traffic",
                    "query": "demo_requests_per_second",
                    # A linear forecast refitted every 5 s. Its band is 4 sigmas: fitted on
                    # 20 s of data, the slope's error alone took a normal series to 0.84 at
                    # 3 sigmas, too near 1; the spike (+300 on noise of +-5) is far outside.
                    "detector": "forecast",
                    "params": {"model": "linear", "sigmas": 4, "horizon": 60},
                    "refit_every": "5s",
                    "labels_keep": ["service"],
                    **common,
                },
                {
                    "name": "failed_logins",
                    "query": "idelta(demo_login_failures_total[5s])",
                    "detector": "auth",
                    "labels_keep": ["identity"],
                    **common,
                },
            ],
        }
    )


async def test_spike_and_burst_raise_exactly_their_series(
    exporter: tuple[ControlledExporter, int],
    prometheus_binary: str,
    launch: Launcher,
    workdir: Path,
) -> None:
    began = time.monotonic()
    controlled, exporter_port = exporter
    prom_port = free_port()
    config = write_yaml(
        workdir / "prometheus.yml",
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "demo",
                    "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
                }
            ],
        },
    )
    launch(prometheus_process(prometheus_binary, workdir, prom_port, config))
    prom_url = f"http://127.0.0.1:{prom_port}"

    registry = CollectorRegistry()
    collector = ScoreCollector()
    registry.register(collector)
    async with aiohttp.ClientSession() as session:

        async def ready() -> bool:
            async with session.get(f"{prom_url}/-/ready") as response:
                return response.status == 200

        await wait_until(ready, timeout=30, what="Prometheus ready")
        scheduler = AnomalyScheduler(
            anomaly_config(prom_url, workdir / "anomaly-state"),
            client=PrometheusClient(session, prom_url),
            collector=collector,
            metrics=SchedulerMetrics(registry),
        )
        scheduler.start()
        try:
            series = {
                ("traffic", "service", "checkout"),
                ("traffic", "service", "search"),
                ("failed_logins", "identity", "alice"),
                ("failed_logins", "identity", "bob"),
            }

            def score(name: str, label: str, value: str) -> float | None:
                return registry.get_sample_value(
                    "secmon_anomaly_score", {"for": name, label: value}
                )

            await asyncio.sleep(LEARN_SECONDS)
            learned = {s: score(*s) for s in series}
            assert all(v is not None and v < 1 for v in learned.values()), learned
            assert (
                registry.get_sample_value(
                    "secmon_anomaly_queries_total", {"for": "traffic", "outcome": "success"}
                )
                or 0
            ) >= LEARN_SECONDS / SCORE_EVERY / 2

            injected = time.monotonic()
            controlled.spike_service = "search"
            controlled.burst_identity = "bob"
            targets = {("traffic", "service", "search"), ("failed_logins", "identity", "bob")}
            detected: dict[tuple[str, str, str], float] = {}
            peak = dict.fromkeys(series - targets, 0.0)
            while time.monotonic() - injected < DETECTION_BUDGET + 3:
                for s in series:
                    value = score(*s) or 0.0
                    if s in targets and value > 1 and s not in detected:
                        detected[s] = time.monotonic() - injected
                    if s in peak:
                        peak[s] = max(peak[s], value)
                await asyncio.sleep(0.05)
        finally:
            await scheduler.stop()

    print(f"detection delays: {detected}; normal peaks: {peak}")
    print(f"total runtime {time.monotonic() - began:.1f}s")
    assert set(detected) == targets, f"not raised: {targets - set(detected)}"
    assert max(detected.values()) <= DETECTION_BUDGET, detected
    assert max(peak.values()) < 1, peak
