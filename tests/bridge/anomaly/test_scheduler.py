"""The anomaly scheduler against a fake Prometheus: fit, online scoring, failures, restarts."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bridge.anomaly.config import AnomalyConfig, AnomalyQuery, parse_duration
from bridge.anomaly.prometheus_api import PrometheusClient
from bridge.anomaly.publish import SchedulerMetrics, ScoreCollector
from bridge.anomaly.scheduler import QueryRunner
from bridge.anomaly.state_store import StateStore
from tests.bridge.anomaly.fake_prometheus import FakePrometheus, serve

STEP = 60.0
T0 = 1_700_000_040.0  # on the 60 s grid
SPIKE_AT = T0 + 5 * STEP


def normal(t: float) -> float:
    return 100.0 + float(np.random.default_rng(int(t)).normal(0, 3))


def spiky(t: float) -> float:
    return normal(t) + (400.0 if t >= SPIKE_AT else 0.0)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, client: PrometheusClient, fake: FakePrometheus, tmp: Path) -> None:
        self.client = client
        self.fake = fake
        self.clock = Clock(T0 + 1)
        self.registry = CollectorRegistry()
        self.collector = ScoreCollector()
        self.registry.register(self.collector)
        self.metrics = SchedulerMetrics(self.registry)
        self.store = StateStore(tmp / "state")

    def runner(self, **overrides: object) -> QueryRunner:
        settings: dict[str, object] = {
            "name": "requests",
            "query": "sum by (service) (rate(http_requests_total[5m]))",
            "step": "60s",
            "fit_window": "1d",
            "timeout": "1s",
        }
        settings.update(overrides)
        query = AnomalyQuery.model_validate(settings)
        return QueryRunner(
            query,
            client=self.client,
            collector=self.collector,
            metrics=self.metrics,
            store=self.store,
            clock=self.clock,
        )

    def score(self, service: str, field: str = "score") -> float | None:
        labels = {"for": "requests", "service": service}
        return self.registry.get_sample_value(f"secmon_anomaly_{field}", labels)

    def outcome(self, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "secmon_anomaly_queries_total", {"for": "requests", "outcome": outcome}
        )
        return value or 0.0


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    fake = FakePrometheus()
    fake.add({"service": "checkout"}, normal)
    fake.add({"service": "search"}, spiky)
    async with serve(fake) as url, aiohttp.ClientSession() as session:
        yield Harness(PrometheusClient(session, url), fake, tmp_path)


async def test_fits_on_history_then_scores_new_points_online(harness: Harness) -> None:
    runner = harness.runner()
    await runner.run_once()
    first = harness.fake.requests[-1]
    assert float(first["end"]) - float(first["start"]) == 86_400  # the whole fit window
    assert runner.fits == 2
    assert harness.score("checkout") is not None
    assert harness.score("checkout", "yhat") == pytest.approx(100, abs=3)

    for _ in range(3):
        harness.clock.now += STEP
        await runner.run_once()
        asked = harness.fake.requests[-1]
        # Only the step after the last scored point is fetched: no re-scoring, no look-ahead.
        assert (
            float(asked["start"]) == float(asked["end"]) == math.floor(harness.clock.now / 60) * 60
        )
    assert runner.fits == 2
    assert harness.registry.get_sample_value(
        "secmon_anomaly_points_scored_total", {"for": "requests"}
    ) == 2 * (1 + 3)  # two series: the newest history point, then one per round
    assert harness.registry.get_sample_value("secmon_anomaly_series", {"for": "requests"}) == 2


async def test_spike_raises_only_the_spiking_series(harness: Harness) -> None:
    runner = harness.runner()
    await runner.run_once()
    seen: dict[str, list[float]] = {"checkout": [], "search": []}
    while harness.clock.now < SPIKE_AT + 2 * STEP:
        harness.clock.now += STEP
        await runner.run_once()
        for service, scores in seen.items():
            scores.append(harness.score(service) or 0.0)
    assert max(seen["checkout"]) < 1
    assert len(seen["search"]) > 4
    assert max(seen["search"][:4]) < 1
    assert max(seen["search"][4:]) > 1
    exposition = generate_latest(harness.registry).decode()
    assert 'secmon_anomaly_score{for="requests",service="search"}' in exposition
    assert "__name__" not in exposition


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [("error", "query_error"), ("500", "server_error"), ("slow", "timeout"), ("warn", "partial")],
)
async def test_failures_are_counted_and_last_scores_kept(
    harness: Harness, mode: str, outcome: str
) -> None:
    runner = harness.runner()
    await runner.run_once()
    before = harness.score("checkout")
    harness.fake.mode = mode
    harness.clock.now += STEP
    await runner.run_once()
    assert harness.outcome(outcome) == 1
    assert harness.outcome("success") == 1
    assert harness.score("checkout") is not None
    if mode != "warn":  # a failed round changes nothing
        assert harness.score("checkout") == before


async def test_restart_resumes_from_persisted_state_without_refit(harness: Harness) -> None:
    runner = harness.runner()
    await runner.run_once()
    harness.clock.now += STEP
    await runner.run_once()
    state_file = harness.store.path("requests")
    doc = json.loads(state_file.read_text())
    assert set(doc["series"]) == set(runner.tracked)
    assert not [p for p in state_file.parent.iterdir() if p.suffix == ".tmp"]

    restarted = harness.runner()  # a new bridge process: same config, same state_dir
    assert set(restarted.tracked) == set(runner.tracked)
    harness.clock.now += STEP
    await restarted.run_once()
    assert restarted.fits == 0
    asked = harness.fake.requests[-1]
    assert float(asked["start"]) == float(asked["end"])  # one new point, no history refetch
    for key, rec in restarted.tracked.items():
        assert rec.last_scored == runner.tracked[key].last_scored + STEP
    # The resumed detector scores exactly as the one that never stopped would have.
    harness.fake.requests.clear()
    await runner.run_once()
    for key, rec in restarted.tracked.items():
        assert rec.last == runner.tracked[key].last


async def test_changed_detector_ignores_old_state(harness: Harness) -> None:
    await harness.runner().run_once()
    changed = harness.runner(detector="mad", params={"window": 50})
    assert changed.tracked == {}


async def test_model_based_detectors_refit_on_schedule(harness: Harness) -> None:
    runner = harness.runner(detector="forecast", params={"model": "linear"}, refit_every="2m")
    await runner.run_once()
    assert runner.fits == 2
    harness.clock.now += STEP
    await runner.run_once()
    assert runner.fits == 2
    harness.clock.now += STEP
    await runner.run_once()
    assert runner.fits == 4


def test_config_validation() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("7d") == 604_800
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")
    with pytest.raises(ValueError, match="duplicate anomaly query names: a"):
        AnomalyConfig.model_validate(
            {"queries": [{"name": "a", "query": "up"}, {"name": "a", "query": "up"}]}
        )
    with pytest.raises(ValueError, match="params for detector 'auth'"):
        AnomalyQuery.model_validate(
            {"name": "a", "query": "up", "detector": "auth", "params": {"kk": 1}}
        )
    assert AnomalyQuery(name="a", query="up").refit_interval is None
    assert AnomalyQuery(name="a", query="up", detector="traffic").refit_interval == 3600
