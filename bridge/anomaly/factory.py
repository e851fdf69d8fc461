"""Build the detector a query's ``detector:`` names, as a univariate detector.

A PromQL query yields plain float series, so every kind here takes floats: the traffic and
authentication detectors, whose native inputs are richer, are wrapped in adapters that feed the
series' value as their primary feature (request rate; failed logins per step). ``params`` go to
the detector's constructor, so a typo there is a configuration error at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridge.anomaly.auth import AuthCounts, AuthenticationAnomalyDetector
from bridge.anomaly.base import JSON, Detector, Score, State
from bridge.anomaly.ensemble import default_detector
from bridge.anomaly.forecast import SecurityMetricsForecast
from bridge.anomaly.mad import RobustZScore
from bridge.anomaly.seasonal import SeasonalResidual
from bridge.anomaly.traffic import FEATURES, TrafficAnomalyDetector

FloatDetector = Detector[float]


class AuthFailures:
    """The authentication detector on one series of failed logins per step."""

    def __init__(self, **params: Any) -> None:
        self.inner = AuthenticationAnomalyDetector(**params)

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        # total=0: a failed-login series alone says nothing about the failed share.
        self.inner.fit(timestamps, [AuthCounts(v, 0.0) for v in values])

    def score(self, timestamp: float, value: float) -> Score:
        return self.inner.score(timestamp, AuthCounts(value, 0.0))

    def explain(self) -> dict[str, JSON]:
        return self.inner.explain()

    def state_dict(self) -> State:
        return self.inner.state_dict()

    def load_state(self, state: Mapping[str, JSON]) -> None:
        self.inner.load_state(state)


class TrafficRate:
    """The Isolation Forest traffic detector on a request-rate series (plus time of day).

    The other traffic features are held at 0, so the forest separates on rate and clock; a
    query per feature joined by service is future work (docs/anomaly.md).
    """

    def __init__(self, **params: Any) -> None:
        self.inner = TrafficAnomalyDetector(**params)

    @staticmethod
    def _features(value: float) -> dict[str, float]:
        return {f: (value if f == "request_rate" else 0.0) for f in FEATURES}

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        self.inner.fit(timestamps, [self._features(v) for v in values])

    def score(self, timestamp: float, value: float) -> Score:
        return self.inner.score(timestamp, self._features(value))

    def explain(self) -> dict[str, JSON]:
        return self.inner.explain()

    def state_dict(self) -> State:
        return self.inner.state_dict()

    def load_state(self, state: Mapping[str, JSON]) -> None:
        self.inner.load_state(state)


def _default(**params: Any) -> FloatDetector:
    if params:
        raise TypeError("the default detector takes no params")
    return default_detector()


BUILDERS: dict[str, Callable[..., FloatDetector]] = {
    "default": _default,
    "mad": RobustZScore,
    "seasonal": SeasonalResidual,
    "forecast": SecurityMetricsForecast,
    "auth": AuthFailures,
    "traffic": TrafficRate,
}


def build_detector(kind: str, params: Mapping[str, Any] | None = None) -> FloatDetector:
    """A fresh detector of ``kind``; raises ``TypeError`` on unknown params."""
    return BUILDERS[kind](**dict(params or {}))
