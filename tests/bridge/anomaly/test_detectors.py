"""Traffic, authentication and forecasting detectors on synthetic security series."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bridge.anomaly.auth import (
    AuthCounts,
    AuthenticationAnomalyDetector,
    ImpossibleTravel,
    Login,
    haversine_km,
)
from bridge.anomaly.forecast import SecurityMetricsForecast
from bridge.anomaly.traffic import TrafficAnomalyDetector

HOUR = 3600.0


def _traffic(n: int, seed: int = 3) -> tuple[list[float], list[dict[str, float]]]:
    rng = np.random.default_rng(seed)
    times = [i * 300.0 for i in range(n)]
    rows = []
    for t in times:
        day = 1 + 0.5 * math.sin(2 * math.pi * t / 86400)
        rows.append(
            {
                "request_rate": 200 * day + rng.normal(0, 5),
                "error_rate": 0.01 + abs(rng.normal(0, 0.002)),
                "response_time_p95": 0.25 + rng.normal(0, 0.01),
                "unique_ips": 80 * day + rng.normal(0, 3),
                "geographic_diversity": 12 + rng.normal(0, 0.5),
            }
        )
    return times, rows


def test_traffic_flags_scraping_burst_not_normal_traffic() -> None:
    times, rows = _traffic(2016)
    det = TrafficAnomalyDetector()
    det.fit(times[:2000], rows[:2000])
    normal = [det.score(t, r).anomaly_score for t, r in zip(times[2000:], rows[2000:], strict=True)]
    assert np.mean(np.array(normal) > 1) < 0.2
    burst = dict(rows[-1], request_rate=2000.0, unique_ips=900.0, geographic_diversity=60.0)
    assert det.score(times[-1] + 300, burst).anomaly_score > 1
    assert det.explain()["pattern"] in {"request_rate", "unique_ips", "geographic_diversity"}


def test_traffic_state_refits_the_same_forest() -> None:
    times, rows = _traffic(600)
    det = TrafficAnomalyDetector()
    det.fit(times, rows)
    copy = TrafficAnomalyDetector()
    copy.load_state(json.loads(json.dumps(det.state_dict())))
    probe = dict(rows[0], error_rate=0.3)
    assert copy.score(1e6, probe) == det.score(1e6, probe)


def _logins(n: int, seed: int = 5) -> list[AuthCounts]:
    rng = np.random.default_rng(seed)
    return [AuthCounts(failed=float(rng.poisson(4)), total=float(400)) for _ in range(n)]


def test_failed_login_burst_is_credential_stuffing() -> None:
    counts = _logins(300)
    det = AuthenticationAnomalyDetector()
    det.fit([i * 300.0 for i in range(300)], counts)
    assert det.score(300 * 300.0, AuthCounts(failed=8, total=400)).anomaly_score < 1
    assert det.score(301 * 300.0, AuthCounts(failed=250, total=600)).anomaly_score > 1


def test_quiet_service_with_two_failures_is_not_an_attack() -> None:
    det = AuthenticationAnomalyDetector()
    det.fit([i * 300.0 for i in range(50)], [AuthCounts(0, 10)] * 50)
    assert det.score(50 * 300.0, AuthCounts(2, 10)).anomaly_score < 1


def test_haversine_paris_new_york() -> None:
    assert haversine_km(48.8566, 2.3522, 40.7128, -74.0060) == pytest.approx(5837, rel=0.01)


def test_impossible_travel() -> None:
    travel = ImpossibleTravel()
    assert travel.observe(Login("ann", 0.0, 48.8566, 2.3522)) is None
    finding = travel.observe(Login("ann", HOUR, 40.7128, -74.0060))  # Paris -> NYC in 1 h
    assert finding is not None
    assert finding.anomaly_score > 1
    plausible = travel.observe(Login("ann", 10 * HOUR, 48.8566, 2.3522))  # back in 9 h
    assert plausible is not None
    assert plausible.anomaly_score < 1
    assert travel.observe(Login("ann", 10 * HOUR + 60, 48.80, 2.30)) is None  # GeoIP jitter


def test_impossible_travel_state_round_trip() -> None:
    travel = ImpossibleTravel()
    travel.observe(Login("bob", 0.0, 51.5, -0.12))
    copy = ImpossibleTravel()
    copy.load_state(json.loads(json.dumps(travel.state_dict())))
    finding = copy.observe(Login("bob", 600.0, 35.68, 139.69))
    assert finding is not None
    assert finding.anomaly_score > 1


@pytest.mark.parametrize("metric", ["alert_volume", "vulnerability_count", "security_score"])
def test_forecast_deviation_test(metric: str) -> None:
    rng = np.random.default_rng(11)
    n = 24 * 14
    t = np.arange(n) * HOUR
    y = 50 + 0.02 * np.arange(n) + 10 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 1, n)
    det = SecurityMetricsForecast.for_metric(metric)
    det.fit(t[:-24].tolist(), y[:-24].tolist())
    first = det.score(float(t[-24]), float(y[-24]))
    assert first.yhat_lower < first.yhat < first.yhat_upper
    spike = det.score(float(t[-23]), float(y[-23] + 200))
    assert spike.anomaly_score > 1
    assert det.explain()["model"] in {"arima", "holt_winters", "linear"}


def test_forecast_past_horizon_is_stale_until_refit() -> None:
    t = [i * HOUR for i in range(100)]
    det = SecurityMetricsForecast(model="linear", horizon=24)
    det.fit(t, [float(i) for i in range(100)])
    assert det.score(130 * HOUR, 130.0).anomaly_score == 0.0
    copy = SecurityMetricsForecast()
    copy.load_state(json.loads(json.dumps(det.state_dict())))
    assert copy.score(101 * HOUR, 500.0).anomaly_score > 1
