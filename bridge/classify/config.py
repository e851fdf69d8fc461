"""Classification settings: business hours, modifier weights, inventory and playbooks.

Example (the ``classification:`` section of the bridge config)::

    time_zone: Europe/Berlin
    business_hours:                # Alertmanager time_intervals syntax
      - times: [{start_time: "08:00", end_time: "18:00"}]
        weekdays: ["monday:friday"]
    inventory_path: /etc/secmon/assets.yml
    playbooks_dir: /etc/secmon/playbooks
    modifiers: {critical_asset: 1, low_asset: -1, production: 1, business_hours: 0.5}
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from bridge.classify.timeintervals import (
    TimeInterval,
    TimeIntervalError,
    parse_location,
    parse_time_intervals,
)

DEFAULT_BUSINESS_HOURS: list[dict[str, Any]] = [
    {"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"]}
]

# Derive a category from the rule id when the alert has no ``category`` label; the longest
# matching prefix wins, so ``aws_sg_`` beats ``aws_``.
DEFAULT_CATEGORY_PREFIXES: dict[str, str] = {
    "aws_sg_": "network_security",
    "aws_security_group": "network_security",
    "aws_": "cloud_security",
    "github_": "ci_cd_security",
    "kong_": "api_security",
    "kubernetes_": "workload_security",
    "flyio_": "transport_security",
    "netlify_": "deployment_integrity",
    "vercel_": "deployment_integrity",
    "service_": "transport_security",
    "cve_": "vulnerability_management",
    "vulnerability_": "vulnerability_management",
}


class SeverityModifiers(BaseModel):
    """Severity steps added to the rule's severity (the seed's ``calculate_severity``)."""

    model_config = ConfigDict(extra="forbid")

    critical_asset: float = 1.0
    low_asset: float = -1.0
    production: float = 1.0
    business_hours: float = 0.5
    # Not in the seed: an anomalous context (vmanomaly score above the threshold) is a half
    # step, so together with business hours it makes a whole one.
    anomaly: float = 0.5


class ClassificationConfig(BaseModel):
    """Everything :class:`~bridge.classify.engine.ClassificationEngine` reads."""

    model_config = ConfigDict(extra="forbid")

    business_hours: list[dict[str, Any]] = Field(
        default_factory=lambda: [dict(item) for item in DEFAULT_BUSINESS_HOURS]
    )
    time_zone: str = "UTC"
    modifiers: SeverityModifiers = Field(default_factory=SeverityModifiers)
    production_environments: list[str] = Field(default_factory=lambda: ["production"])
    inventory_path: Path | None = None
    playbooks_dir: Path | None = Path("playbooks")
    category_prefixes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CATEGORY_PREFIXES)
    )
    default_category: str = Field(default="uncategorized", min_length=1)
    anomaly_threshold: float = Field(default=1.0, gt=0)
    # An alert that fired this often on the same asset in 7 days is routine: urgency -1.
    recurring_threshold: int = Field(default=20, ge=1)

    _intervals: tuple[TimeInterval, ...] = PrivateAttr(default=())
    _zone: tzinfo | None = PrivateAttr(default=None)

    @field_validator("business_hours")
    @classmethod
    def _check_business_hours(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            parse_time_intervals(value, "business_hours")
        except TimeIntervalError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("time_zone")
    @classmethod
    def _check_time_zone(cls, value: str) -> str:
        try:
            parse_location(value, "time_zone")
        except TimeIntervalError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _compile(self) -> Self:
        # The default playbooks directory may simply not exist; an explicit one must.
        if (
            "playbooks_dir" in self.model_fields_set
            and self.playbooks_dir is not None
            and not self.playbooks_dir.is_dir()
        ):
            raise ValueError(f"playbooks_dir: {self.playbooks_dir} is not a directory")
        if self.inventory_path is not None and not self.inventory_path.is_file():
            raise ValueError(f"inventory_path: {self.inventory_path} is not a file")
        self._intervals = parse_time_intervals(self.business_hours, "business_hours")
        self._zone = parse_location(self.time_zone, "time_zone")
        return self

    @property
    def intervals(self) -> tuple[TimeInterval, ...]:
        """The compiled business hours."""
        return self._intervals

    @property
    def zone(self) -> tzinfo:
        """The default time zone for intervals without a ``location``."""
        assert self._zone is not None  # set by the model validator
        return self._zone
