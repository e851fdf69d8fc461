"""Configuration of the anomaly scheduler: which PromQL queries to score, how, and where.

Example (the ``anomaly:`` section of the bridge's YAML)::

    anomaly:
      prometheus_url: http://127.0.0.1:9090
      state_dir: /var/lib/secmon/anomaly
      queries:
        - name: kong_requests
          query: sum by (service) (rate(kong_http_requests_total[5m]))
          detector: default
        - name: failed_logins
          query: sum by (identity) (increase(secmon_auth_failures_total[5m]))
          detector: auth
          step: 5m

Durations are Prometheus-style strings (``90s``, ``5m``, ``1h30m``, ``7d``) or seconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

DetectorKind = Literal["default", "traffic", "auth", "forecast", "mad", "seasonal"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: Any) -> float:
    """Seconds from ``"1h30m"``-style text or a number; rejects anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ValueError("a duration is a number of seconds or text like 60s, 5m, 1h, 7d")
    text = value.strip()
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use e.g. 60s, 5m, 1h, 7d)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]

# Online detectors learn from every point they score, so one fit on first sight is enough;
# model-based ones (a fixed forest, a fixed forecast) go stale and refit on a schedule.
ONLINE_DETECTORS: frozenset[str] = frozenset({"default", "auth", "mad", "seasonal"})
DEFAULT_MODEL_REFIT = 3600.0


class AnomalyQuery(BaseModel):
    """One PromQL query; every series it returns gets its own detector."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_:.-]*$")
    query: str = Field(min_length=1)
    detector: DetectorKind = "default"
    # Keyword arguments for the detector's constructor (e.g. ``{k: 5}`` for auth).
    params: dict[str, Any] = Field(default_factory=dict)
    step: Duration = 60.0
    fit_window: Duration = 7 * 86_400.0
    # None: never for online detectors (they keep learning), hourly for model-based ones.
    refit_every: Duration | None = None
    score_every: Duration = 60.0
    # Series labels kept on the published scores; empty keeps all (except __name__).
    labels_keep: list[str] = Field(default_factory=list)
    timeout: Duration = 30.0

    @property
    def refit_interval(self) -> float | None:
        if self.refit_every is not None:
            return self.refit_every
        return None if self.detector in ONLINE_DETECTORS else DEFAULT_MODEL_REFIT

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.fit_window < self.step:
            raise ValueError("fit_window must be at least one step")
        if "for" in self.labels_keep:
            raise ValueError("'for' is the query name on published scores; it cannot be kept")
        from bridge.anomaly.factory import build_detector  # detectors import numpy: load late

        try:
            build_detector(self.detector, self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params for detector {self.detector!r}: {exc}") from exc
        return self


class AnomalyConfig(BaseModel):
    """The ``anomaly`` section: nothing runs unless ``queries`` is non-empty."""

    model_config = ConfigDict(extra="forbid")

    prometheus_url: str = "http://127.0.0.1:9090"
    queries: list[AnomalyQuery] = Field(default_factory=list)
    state_dir: Path | None = None
    # How long the alerting rule keeps an onset firing (prometheus/rules/secmon-anomaly.yml).
    hold: Duration = 300.0

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [q.name for q in self.queries]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate anomaly query names: {', '.join(duplicates)}")
        return self
