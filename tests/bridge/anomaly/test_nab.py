"""The NAB scorer on hand-made files whose scores can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.anomaly import nab

STANDARD = nab.Profile("standard", tp_weight=1.0, fn_weight=1.0, fp_weight=0.11)
LOW_FN = nab.Profile("reward_low_FN_rate", tp_weight=1.0, fn_weight=2.0, fp_weight=0.11)


def _file(
    rows: int = 1000, windows: tuple[tuple[int, int], ...] = ((400, 499), (700, 799))
) -> nab.LabelledFile:
    start = np.datetime64("2024-01-01T00:00", "ns")
    stamps = [start + np.timedelta64(5 * i, "m") for i in range(rows)]
    spans = [(str(stamps[a]), str(stamps[b])) for a, b in windows]
    return nab.label_file("hand/made.csv", stamps, spans)


def _firing(rows: int, *at: int) -> nab.FloatArray:
    scores = np.zeros(rows)
    scores[list(at)] = 1.0
    return scores


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert nab.probation_length(1000) == 150
    assert nab.probation_length(10_000) == 750
    labelled = _file()
    assert (labelled.window_index[:150] == nab.PROBATION).all()
    assert labelled.window_index[150] == nab.OUTSIDE


@pytest.mark.parametrize("profile", [STANDARD, LOW_FN])
def test_perfect_detector_scores_100(profile: nab.Profile) -> None:
    labelled = _file()
    result = nab.sweep([(labelled, _firing(1000, 400, 700))], profile)
    assert result.normalised == pytest.approx(100.0)
    assert result.raw == pytest.approx(2.0)


@pytest.mark.parametrize("profile", [STANDARD, LOW_FN])
def test_null_detector_scores_0(profile: nab.Profile) -> None:
    labelled = _file()
    result = nab.sweep([(labelled, np.zeros(1000))], profile)
    assert result.normalised == pytest.approx(0.0)
    assert result.raw == pytest.approx(-2.0 * profile.fn_weight)


def test_late_detection_is_worth_less_than_early() -> None:
    labelled = _file()
    early = nab.score_detections(labelled, _firing(1000, 410, 700) > 0, STANDARD)
    late = nab.score_detections(labelled, _firing(1000, 490, 700) > 0, STANDARD)
    assert late < early
    # The right edge of a window is worth close to nothing, but still more than a miss.
    edge = nab.score_detections(labelled, _firing(1000, 499, 700) > 0, STANDARD)
    miss = nab.score_detections(labelled, _firing(1000, 700) > 0, STANDARD)
    assert miss < edge < late


def test_only_earliest_detection_in_a_window_counts() -> None:
    labelled = _file()
    once = nab.score_detections(labelled, _firing(1000, 400) > 0, STANDARD)
    many = nab.score_detections(labelled, _firing(1000, 400, 420, 450, 499) > 0, STANDARD)
    assert once == pytest.approx(many)


def test_false_positive_costs_full_weight_before_windows() -> None:
    labelled = _file()
    base = nab.score_detections(labelled, _firing(1000, 400, 700) > 0, STANDARD)
    with_fp = nab.score_detections(labelled, _firing(1000, 200, 400, 700) > 0, STANDARD)
    assert base - with_fp == pytest.approx(0.11)


def test_false_positive_just_after_a_window_costs_less_than_a_late_one() -> None:
    labelled = _file()
    base = nab.score_detections(labelled, _firing(1000, 400, 700) > 0, STANDARD)
    near = base - nab.score_detections(labelled, _firing(1000, 400, 501, 700) > 0, STANDARD)
    far = base - nab.score_detections(labelled, _firing(1000, 400, 690, 700) > 0, STANDARD)
    assert 0 < near < far <= 0.11


def test_detections_in_probation_are_ignored() -> None:
    labelled = _file()
    base = nab.score_detections(labelled, _firing(1000, 400, 700) > 0, STANDARD)
    assert nab.score_detections(labelled, _firing(1000, 10, 400, 700) > 0, STANDARD) == base


def test_sweep_matches_direct_scoring_at_its_threshold() -> None:
    rng = np.random.default_rng(7)
    files = [(_file(), rng.random(1000)) for _ in range(3)]
    result = nab.sweep(files, STANDARD)
    direct = sum(nab.score_detections(f, s >= result.threshold, STANDARD) for f, s in files)
    assert result.raw == pytest.approx(direct)
    # No other threshold does better.
    for threshold in np.quantile(np.concatenate([s for _, s in files]), [0.9, 0.99, 0.999]):
        total = sum(nab.score_detections(f, s >= threshold, STANDARD) for f, s in files)
        assert total <= result.raw + 1e-9


def test_sweep_picks_threshold_that_skips_false_positives() -> None:
    labelled = _file()
    scores = np.zeros(1000)
    scores[[400, 700]] = 0.9
    scores[[200, 300]] = 0.5  # false positives with lower scores
    result = nab.sweep([(labelled, scores)], STANDARD)
    assert result.threshold == pytest.approx(0.9)
    assert result.normalised == pytest.approx(100.0)
