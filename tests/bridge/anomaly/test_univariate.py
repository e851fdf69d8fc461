"""Robust z-score, seasonal residual and the default ensemble, scored online."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bridge.anomaly.base import Detector
from bridge.anomaly.ensemble import Ensemble, default_detector
from bridge.anomaly.mad import RobustZScore
from bridge.anomaly.seasonal import DAY, SeasonalResidual

STEP = 300.0  # five-minute points


def _daily(n: int, seed: int = 1) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * STEP
    y = 100 + 40 * np.sin(2 * math.pi * t / DAY) + rng.normal(0, 2, n)
    return t.tolist(), y.tolist()


def _scores(detector: Detector[float], times: list[float], values: list[float]) -> list[float]:
    return [detector.score(t, v).anomaly_score for t, v in zip(times, values, strict=True)]


def test_zscore_flags_a_spike_and_not_the_noise_around_it() -> None:
    rng = np.random.default_rng(2)
    times = [i * STEP for i in range(1500)]
    values = (50 + rng.normal(0, 2, 1500)).tolist()
    values[1400] += 30
    scores = _scores(RobustZScore(), times, values)
    assert scores[1400] > 1
    assert max(scores[1300:1400]) < scores[1400] / 2


def test_scores_warm_up_as_normal() -> None:
    times, values = _daily(50)
    assert all(s == 0 for s in _scores(RobustZScore(), times, values))


def test_band_is_where_the_score_reaches_one() -> None:
    times, values = _daily(600)
    det = RobustZScore()
    _scores(det, times[:-1], values[:-1])
    s = det.score(times[-1], values[-1])
    assert s.yhat_lower < s.yhat < s.yhat_upper
    edge = RobustZScore()
    edge.load_state(json.loads(json.dumps(det.state_dict())))
    # state_dict was taken after the last point; a value on the upper edge scores about 1.
    nxt = det.score(times[-1] + STEP, s.yhat_upper)
    assert math.isfinite(nxt.anomaly_score)


def test_seasonal_residual_catches_a_missing_daily_peak() -> None:
    times, values = _daily(int(3 * DAY / STEP))
    peak = int(2.25 * DAY / STEP)  # the sine peaks a quarter into each day
    for i in range(peak - 12, peak + 12):
        values[i] -= 40  # the peak that should be there is not (still within the usual range)
    seasonal = _scores(SeasonalResidual(), times, values)
    assert max(seasonal[peak - 12 : peak + 12]) > 1
    assert max(seasonal[int(1.2 * DAY / STEP) : peak - 30]) < 1


def test_ensemble_onset_then_refractory() -> None:
    times, values = _daily(1500)
    values[1200:1300] = [v + 80 for v in values[1200:1300]]  # a level shift
    det = Ensemble([RobustZScore()], refractory=50)
    scores = _scores(det, times, values)
    assert scores[1200] > 1
    assert max(scores[1201:1251]) <= 1  # one incident, one onset


def test_state_round_trip_through_json_continues_identically() -> None:
    times, values = _daily(int(1.5 * DAY / STEP))
    values[-20] += 50
    a = default_detector()
    half = len(times) // 2
    _scores(a, times[:half], values[:half])
    b = default_detector()
    b.load_state(json.loads(json.dumps(a.state_dict())))
    # The calibration history is stored as float32, so resumed scores agree to ~1e-7.
    resumed = _scores(b, times[half:], values[half:])
    assert _scores(a, times[half:], values[half:]) == pytest.approx(resumed, rel=1e-5)


def test_fit_replays_history_without_reporting() -> None:
    times, values = _daily(800)
    fitted = default_detector()
    fitted.fit(times[:700], values[:700])
    online = default_detector()
    _scores(online, times[:700], values[:700])
    assert _scores(fitted, times[700:], values[700:]) == _scores(online, times[700:], values[700:])
    assert fitted.explain()["detector"] == "ensemble"
