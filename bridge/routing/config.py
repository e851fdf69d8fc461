"""The ``routing`` section: routes by severity/category/labels, quiet hours, rate limits.

Example::

    routing:
      routes:
        - severities: [critical]
          channels: [pagerduty_security]
        - categories: [secrets]
          labels: {environment: production}
          channels: [slack_critical]
      channels:
        slack_devops:
          quiet_hours:                  # Alertmanager time_intervals syntax
            - weekdays: [saturday, sunday]
            - times: [{start_time: "20:00", end_time: "24:00"}]
          location: Europe/Berlin        # default zone for intervals without one
          rate_limit: {per_minute: 30, burst: 10}
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from bridge.classify.timeintervals import TimeInterval, parse_location, parse_time_intervals


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_minute: float = Field(gt=0)
    burst: int = Field(default=5, ge=1)


class ChannelRouting(BaseModel):
    """Per-channel delivery rules."""

    model_config = ConfigDict(extra="forbid")

    quiet_hours: list[Any] = Field(default_factory=list)
    location: str = "UTC"
    # Quiet hours hold back new messages and escalations; these severities still go out.
    quiet_hours_except: list[str] = Field(default_factory=lambda: ["critical"])
    rate_limit: RateLimit | None = None
    _intervals: tuple[TimeInterval, ...] = PrivateAttr(default=())
    _tz: tzinfo = PrivateAttr(default=UTC)

    @model_validator(mode="after")
    def _compile(self) -> ChannelRouting:
        self._intervals = parse_time_intervals(self.quiet_hours, "quiet_hours")
        self._tz = parse_location(self.location, "location")
        return self

    @property
    def intervals(self) -> tuple[TimeInterval, ...]:
        return self._intervals

    @property
    def tz(self) -> tzinfo:
        return self._tz


class Route(BaseModel):
    """Extra channels for alerts matching every given condition (an empty one matches all)."""

    model_config = ConfigDict(extra="forbid")

    severities: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    channels: list[str] = Field(min_length=1)

    def matches(
        self, *, severity: str | None, category: str | None, labels: dict[str, str]
    ) -> bool:
        if self.severities and severity not in self.severities:
            return False
        if self.categories and category not in self.categories:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(default_factory=list)
    channels: dict[str, ChannelRouting] = Field(default_factory=dict)
    # A message waits at most this long for a rate-limit token, then goes out anyway.
    rate_limit_max_wait_seconds: float = Field(default=60.0, ge=0)
