"""Forecast deviations: the seed's ``SecurityMetricsForecast`` with statsmodels models.

A model is fitted on history, forecasts the next ``horizon`` steps, and each new point is
tested the seed's way: anomalous when it lies more than ``sigmas`` (2) standard deviations of
the model's in-sample residuals from the forecast. ``anomaly_score = |actual - predicted| /
(sigmas * sd)`` therefore crosses 1 exactly where the seed's test fires. Models, as the seed
assigns them (Prophet is replaced by Holt-Winters, already in statsmodels):

- ``arima``: ARIMA(2,1,2), for alert volume;
- ``holt_winters``: additive-trend exponential smoothing, seasonal when two seasons of data
  exist, for vulnerability counts;
- ``linear``: a least-squares trend line, for the security score.

Forecasts go stale: points past the horizon score as warming up until the next ``fit``
(the scheduler refits on its own schedule).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from bridge.anomaly.base import JSON, Score, State

ModelKind = Literal["arima", "holt_winters", "linear"]
MODEL_FOR_METRIC: dict[str, ModelKind] = {
    "alert_volume": "arima",
    "vulnerability_count": "holt_winters",
    "security_score": "linear",
}


def _fit_forecast(
    kind: ModelKind, y: npt.NDArray[np.float64], horizon: int, season: int
) -> tuple[npt.NDArray[np.float64], float]:
    """Forecast ``horizon`` steps after ``y`` and return the in-sample residual sd."""
    if kind == "linear":
        x = np.arange(len(y), dtype=float)
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (slope * x + intercept)
        ahead = np.arange(len(y), len(y) + horizon, dtype=float)
        return slope * ahead + intercept, float(np.std(resid, ddof=2))
    with warnings.catch_warnings():
        # Short or flat security series make the optimisers chatty; the fit is still usable.
        warnings.simplefilter("ignore")
        if kind == "arima":
            from statsmodels.tsa.arima.model import ARIMA

            res = ARIMA(y, order=(2, 1, 2)).fit()
            resid = np.asarray(res.resid)[1:]  # the first residual is the undifferenced level
        else:
            from statsmodels.tsa.holtwinters import ExponentialSmoothing

            seasonal = "add" if season > 1 and len(y) >= 2 * season else None
            res = ExponentialSmoothing(
                y, trend="add", seasonal=seasonal, seasonal_periods=season if seasonal else None
            ).fit()
            resid = np.asarray(res.resid)
        return np.asarray(res.forecast(horizon), dtype=float), float(np.std(resid, ddof=1))


class SecurityMetricsForecast:
    """Forecast a security metric and score deviations from the forecast."""

    kind = "forecast"

    def __init__(
        self,
        *,
        model: ModelKind = "arima",
        horizon: int = 24,
        sigmas: float = 2.0,
        season: int = 24,
        max_history: int = 2000,
    ) -> None:
        self.model = model
        self.horizon = horizon  # the seed forecasts the last 24 hours of hourly points
        self.sigmas = sigmas
        self.season = season
        self.max_history = max_history
        self._times: list[float] = []
        self._values: list[float] = []
        self._forecast = np.empty(0)
        self._sd = math.nan
        self._step = 0.0
        self._origin = 0.0  # timestamp of the last point the model was fitted on
        self._n_fit = 0
        self._last = Score.warming_up(0.0)

    @classmethod
    def for_metric(cls, metric: str) -> SecurityMetricsForecast:
        """The seed's model for ``alert_volume``, ``vulnerability_count`` or ``security_score``."""
        return cls(model=MODEL_FOR_METRIC[metric])

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        self._times = [float(t) for t in timestamps][-self.max_history :]
        self._values = [float(v) for v in values][-self.max_history :]
        self._n_fit = len(self._values)
        self._origin = self._times[-1] if self._times else 0.0
        if len(self._values) < 10:
            self._forecast, self._sd = np.empty(0), math.nan
            return
        self._step = float(np.median(np.diff(self._times)))
        y = np.asarray(self._values)
        self._forecast, self._sd = _fit_forecast(self.model, y, self.horizon, self.season)
        # A perfectly regular history has sd 0; a tiny floor keeps the score finite.
        self._sd = max(self._sd, 1e-6 * (float(np.abs(y).mean()) + 1.0))

    def score(self, timestamp: float, value: float) -> Score:
        steps = round((timestamp - self._origin) / self._step) if self._step else 0
        self._times.append(timestamp)
        self._values.append(value)
        if not 1 <= steps <= len(self._forecast):
            self._last = Score.warming_up(value)
            return self._last
        predicted = float(self._forecast[steps - 1])
        band = self.sigmas * self._sd
        deviation = abs(value - predicted) / band
        self._last = Score(deviation, predicted, predicted - band, predicted + band)
        return self._last

    def explain(self) -> dict[str, JSON]:
        return {
            "detector": self.kind,
            "model": self.model,
            "summary": f"{self.model} forecast; anomalous beyond {self.sigmas:g} residual sd",
            "anomaly_score": self._last.anomaly_score,
            "predicted": self._last.yhat,
            "residual_sd": self._sd,
        }

    def state_dict(self) -> State:
        # The data the model was fitted on; refitting is deterministic and needs no pickle.
        cut = max(0, len(self._values) - self.max_history - self.horizon)
        return {
            "type": self.kind,
            "settings": {
                "model": self.model,
                "horizon": self.horizon,
                "sigmas": self.sigmas,
                "season": self.season,
                "max_history": self.max_history,
            },
            "times": self._times[cut:],
            "values": self._values[cut:],
            "fitted": max(0, self._n_fit - cut),
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        s = state["settings"]
        self.model, self.horizon, self.sigmas = s["model"], int(s["horizon"]), float(s["sigmas"])
        self.season, self.max_history = int(s["season"]), int(s["max_history"])
        times, values = list(state["times"]), list(state["values"])
        fitted = min(int(state["fitted"]), len(values))
        self.fit(times[:fitted], values[:fitted])
        for t, v in zip(times[fitted:], values[fitted:], strict=True):
            self.score(float(t), float(v))
