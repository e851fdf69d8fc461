"""Seasonal residual: the change since the same time one period ago (a day by default).

Traffic, logins and alert volume follow the clock. Subtracting the value seen exactly one
period earlier (a seasonal-naive forecast) removes the daily or weekly shape, and a robust
z-score of what remains flags a point that breaks the pattern, such as a night that looks like
a day or a missing daily peak, even when the value itself is in the usual range.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from bridge.anomaly.base import JSON, Score, State
from bridge.anomaly.mad import RobustZScore

DAY = 86_400.0
WEEK = 7 * DAY


class SeasonalResidual:
    """Robust z-score of ``value - value(timestamp - period)``."""

    kind = "seasonal_residual"

    def __init__(self, *, period: float = DAY, residual: RobustZScore | None = None) -> None:
        self.period = period
        self._residual = residual or RobustZScore()
        self._reset()

    def _reset(self) -> None:
        self._residual.fit([], [])
        # (timestamp, value) for a little more than one period back.
        self._history: deque[tuple[float, float]] = deque()
        self._step = 0.0
        self._last = Score.warming_up(0.0)

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        self._reset()
        for t, v in zip(timestamps, values, strict=True):
            self.score(t, v)

    def _value_one_period_ago(self, timestamp: float) -> float | None:
        target = timestamp - self.period
        tolerance = self._step / 2
        # Oldest first: drop points too old ever to be "one period ago" again.
        while self._history and self._history[0][0] < target - tolerance:
            self._history.popleft()
        if self._history and abs(self._history[0][0] - target) <= tolerance:
            return self._history[0][1]
        return None

    def score(self, timestamp: float, value: float) -> Score:
        if self._history:
            self._step = timestamp - self._history[-1][0]
        before = self._value_one_period_ago(timestamp)
        self._history.append((timestamp, value))
        if before is None:  # less than one period of history, or a gap in the data
            self._last = Score.warming_up(value)
            return self._last
        r = self._residual.score(timestamp, value - before)
        self._last = Score(
            r.anomaly_score, before + r.yhat, before + r.yhat_lower, before + r.yhat_upper
        )
        return self._last

    def explain(self) -> dict[str, JSON]:
        return {
            "detector": self.kind,
            "summary": f"change since {self.period:g}s earlier, against its usual size",
            "anomaly_score": self._last.anomaly_score,
            "yhat": self._last.yhat,
            "yhat_lower": self._last.yhat_lower,
            "yhat_upper": self._last.yhat_upper,
        }

    def state_dict(self) -> State:
        return {
            "type": self.kind,
            "settings": {"period": self.period},
            "history": [list(p) for p in self._history],
            "step": self._step,
            "residual": self._residual.state_dict(),
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        self.period = float(state["settings"]["period"])
        self._history = deque((float(t), float(v)) for t, v in state["history"])
        self._step = float(state["step"])
        self._residual.load_state(state["residual"])
