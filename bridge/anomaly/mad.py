"""Rolling robust z-score: how far a point sits from the median of the points before it.

The deviation is measured in robust standard deviations (1.4826 times the median absolute deviation)
of the preceding ``window`` points, then calibrated against the series' own recent deviations
(see ``calibrate``). With ``smooth > 1`` the mean of the latest ``smooth`` points is compared
with the window that preceded all of them, which catches level shifts and slow drifts a few
points after they start, while a single spike barely moves it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np

from bridge.anomaly.base import JSON, Score, State
from bridge.anomaly.calibrate import Calibrator, Ring

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


class RobustZScore:
    """Online robust z-score of a univariate series, calibrated to the vmanomaly convention."""

    kind = "robust_zscore"

    def __init__(
        self,
        *,
        window: int = 200,
        smooth: int = 1,
        min_points: int = 20,
        range_floor: float = 0.05,
        calibrator: Calibrator | None = None,
    ) -> None:
        self.window = window
        self.smooth = smooth
        self.min_points = min_points
        # On a series that mostly repeats one value the MAD is 0 and any wiggle would look
        # infinite; a fraction of the 5th-95th percentile range bounds the scale from below.
        self.range_floor = range_floor
        self._calibrator = calibrator or Calibrator()
        self._reset()

    def _reset(self) -> None:
        self._calibrator = self._calibrator.fresh()
        self._past = Ring(self.window)
        self._recent: deque[float] = deque(maxlen=self.smooth)
        self._stats: deque[tuple[float, float]] = deque(maxlen=self.smooth)
        self._last = Score.warming_up(0.0)

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        self._reset()
        for t, v in zip(timestamps, values, strict=True):
            self.score(t, v)

    def _window_stats(self) -> tuple[float, float]:
        past = np.sort(self._past.values())
        n = len(past)
        median = float(past[n // 2]) if n % 2 else float(past[n // 2 - 1 : n // 2 + 1].mean())
        mad = float(np.median(np.abs(past - median)))
        spread = float(past[int(0.95 * (n - 1))] - past[int(0.05 * (n - 1))])
        scale = max(_MAD_TO_SIGMA * mad, self.range_floor * spread, 1e-9 + 1e-6 * abs(median))
        return median, scale

    def score(self, timestamp: float, value: float) -> Score:
        del timestamp  # the window counts points, not seconds
        self._recent.append(value)
        if self._past.count >= self.min_points:
            self._stats.append(self._window_stats())
        self._past.append(value)
        if len(self._stats) < self.smooth:
            self._calibrator.calibrate(0.0)  # keeps warm-up points in the calibration history
            self._last = Score.warming_up(value)
            return self._last
        median, scale = self._stats[0]  # the window that preceded every point being averaged
        level = sum(self._recent) / len(self._recent)
        anomaly = self._calibrator.calibrate(abs(level - median) / scale)
        half = self._calibrator.reference * scale
        self._last = Score(anomaly, median, median - half, median + half)
        return self._last

    def explain(self) -> dict[str, JSON]:
        what = "value" if self.smooth == 1 else f"mean of the last {self.smooth} values"
        return {
            "detector": self.kind,
            "summary": f"{what} against the median of the previous {self.window} values",
            "anomaly_score": self._last.anomaly_score,
            "yhat": self._last.yhat,
            "yhat_lower": self._last.yhat_lower,
            "yhat_upper": self._last.yhat_upper,
            "reference_deviation": self._calibrator.reference,
        }

    def state_dict(self) -> State:
        return {
            "type": self.kind,
            "settings": {
                "window": self.window,
                "smooth": self.smooth,
                "min_points": self.min_points,
                "range_floor": self.range_floor,
            },
            "past": self._past.state(),
            "recent": list(self._recent),
            "stats": [list(s) for s in self._stats],
            "calibrator": self._calibrator.state_dict(),
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        settings = state["settings"]
        self.window = int(settings["window"])
        self.smooth = int(settings["smooth"])
        self.min_points = int(settings["min_points"])
        self.range_floor = float(settings["range_floor"])
        self._past = Ring.from_state(state["past"])
        self._recent = deque((float(v) for v in state["recent"]), maxlen=self.smooth)
        self._stats = deque(((float(m), float(s)) for m, s in state["stats"]), maxlen=self.smooth)
        self._calibrator = Calibrator.from_state(state["calibrator"])
