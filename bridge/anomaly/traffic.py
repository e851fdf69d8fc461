"""Traffic anomalies: the seed's ``TrafficAnomalyDetector``, an Isolation Forest over traffic.

Each point is one scrape interval of one service: request rate, error rate, p95 latency,
unique client IPs and geographic diversity (distinct countries), plus the time of day and day
of week as points on a circle, so 3 a.m. traffic is judged against other nights. The forest is
fitted on history (the scheduler refits it) and scores new points one at a time.

Score convention: ``anomaly_score = depth score / the forest's outlier cut-off``, so it
exceeds 1 exactly when scikit-learn would label the point an outlier at ``contamination``.
The seed's ``contamination=0.1`` would page on one interval in ten; 0.005 is the default here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import IsolationForest

from bridge.anomaly.base import JSON, Score, State

FEATURES = ("request_rate", "error_rate", "response_time_p95", "unique_ips", "geographic_diversity")


def clock_features(timestamp: float) -> list[float]:
    """Hour of day and day of week as (sin, cos) pairs: 23:00 is next to 00:00."""
    when = datetime.fromtimestamp(timestamp, UTC)
    hour = (when.hour + when.minute / 60) / 24 * 2 * math.pi
    day = (when.weekday() + when.hour / 24) / 7 * 2 * math.pi
    return [math.sin(hour), math.cos(hour), math.sin(day), math.cos(day)]


class TrafficAnomalyDetector:
    """Isolation Forest over per-interval traffic features of one service."""

    kind = "traffic"

    def __init__(
        self,
        *,
        contamination: float = 0.005,
        n_estimators: int = 100,
        max_history: int = 4032,
        random_state: int = 0,
    ) -> None:
        self.contamination = contamination
        self.n_estimators = n_estimators
        # Two weeks of 5-minute points: enough for weekly shape, small enough to persist.
        self.max_history = max_history
        self.random_state = random_state
        self._forest: IsolationForest | None = None
        self._history: list[list[float]] = []
        self._center = np.zeros(len(FEATURES))
        self._spread = np.ones(len(FEATURES))
        self._last = Score.warming_up(0.0)
        self._last_row: list[float] = []

    def _row(self, timestamp: float, value: Mapping[str, float]) -> list[float]:
        return [float(value[f]) for f in FEATURES] + clock_features(timestamp)

    def fit(self, timestamps: Sequence[float], values: Sequence[Mapping[str, float]]) -> None:
        rows = [self._row(t, v) for t, v in zip(timestamps, values, strict=True)]
        self._fit_rows(rows[-self.max_history :])

    def _fit_rows(self, rows: list[list[float]]) -> None:
        self._history = rows
        if len(rows) < 32:  # an Isolation Forest on a handful of points isolates everything
            self._forest = None
            return
        x = np.asarray(rows)
        self._forest = IsolationForest(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            random_state=self.random_state,
        ).fit(x)
        traffic = x[:, : len(FEATURES)]
        self._center = np.median(traffic, axis=0)
        mad = np.median(np.abs(traffic - self._center), axis=0) * 1.4826
        self._spread = np.where(mad > 0, mad, 1.0)

    def score(self, timestamp: float, value: Mapping[str, float]) -> Score:
        row = self._row(timestamp, value)
        self._last_row = row
        # Kept for the next refit and for persistence; the live forest itself stays fixed.
        self._history = [*self._history[-(self.max_history - 1) :], row]
        if self._forest is None:
            self._last = Score.warming_up(row[0])
            return self._last
        depth = -float(self._forest.score_samples(np.asarray([row]))[0])  # (0, 1], 1 = isolated
        cutoff = -float(self._forest.offset_)
        # The band is about request rate, the feature people graph; the score is about all.
        c, s = float(self._center[0]), float(self._spread[0])
        self._last = Score(depth / cutoff, c, c - 3 * s, c + 3 * s)
        return self._last

    def deviations(self) -> dict[str, float]:
        """Robust z-score of each traffic feature of the last point (what looks unusual)."""
        if not self._last_row:
            return {}
        z: npt.NDArray[np.float64] = (
            np.asarray(self._last_row[: len(FEATURES)]) - self._center
        ) / self._spread
        return {f: round(float(v), 2) for f, v in zip(FEATURES, z, strict=True)}

    def explain(self) -> dict[str, JSON]:
        dev = self.deviations()
        return {
            "detector": self.kind,
            "summary": "Isolation Forest over traffic features with time of day and week",
            "anomaly_score": self._last.anomaly_score,
            "feature_deviations": dev,
            "pattern": max(dev, key=lambda f: abs(dev[f])) if dev else None,
        }

    def state_dict(self) -> State:
        # The training rows, not a pickled forest: JSON is safe to load, and a forest refitted
        # with the same rows and seed is the same forest.
        return {
            "type": self.kind,
            "settings": {
                "contamination": self.contamination,
                "n_estimators": self.n_estimators,
                "max_history": self.max_history,
                "random_state": self.random_state,
            },
            "history": self._history,
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        settings = state["settings"]
        self.contamination = float(settings["contamination"])
        self.n_estimators = int(settings["n_estimators"])
        self.max_history = int(settings["max_history"])
        self.random_state = int(settings["random_state"])
        self._fit_rows([[float(x) for x in row] for row in state["history"]])
