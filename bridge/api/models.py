"""The API's JSON shapes as pydantic models: request validation and the OpenAPI schemas.

Handlers build responses with :mod:`bridge.api.render`; the tests validate every response
against these models (``extra="forbid"``), so the document and the wire cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

LifecycleStatusName = Literal["open", "acknowledged", "resolved", "suppressed"]
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Out):
    error: str
    details: list[str] | None = None


class Reason(_Out):
    factor: str
    effect: str
    detail: str


class Alert(_Out):
    """An alert instance. ``status`` is the bridge's lifecycle, ``am_status`` Alertmanager's."""

    id: int
    fingerprint: str
    rule_id: str | None
    alertname: str | None
    title: str | None
    severity: str | None = Field(description="final (classified) severity")
    base_severity: str | None = Field(description="the rule's severity label")
    category: str | None
    status: LifecycleStatusName
    am_status: Literal["firing", "resolved"]
    asset_id: str | None
    environment: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None
    occurrence_count: int
    last_occurrence_at: AwareDatetime | None
    primary_id: int | None = Field(description="the alert this one was deduplicated into")
    business_impact: str | None
    urgency: str | None
    confidence: float | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    acknowledged_at: AwareDatetime | None
    acknowledged_by: str | None
    resolved_at: AwareDatetime | None
    resolved_by: str | None
    suppressed_at: AwareDatetime | None
    suppressed_by: str | None
    suppressed_until: AwareDatetime | None
    silence_id: str | None


class AlertList(_Out):
    alerts: list[Alert]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class Classification(_Out):
    severity: str | None
    base_severity: str | None
    category: str | None
    business_impact: str | None
    urgency: str | None
    confidence: float | None
    reasons: list[Reason]
    enrichment: dict[str, Any]
    classified_at: AwareDatetime | None


class Duplicate(_Out):
    alert_id: int
    timestamp: AwareDatetime | None
    source: str | None
    score: float | None = None
    exact: bool | None = None


class Occurrence(_Out):
    am_status: Literal["firing", "resolved"]
    starts_at: AwareDatetime
    group_key: str
    receiver: str
    received_at: AwareDatetime


class TimelineEntry(_Out):
    at: AwareDatetime
    kind: str
    actor: str | None
    message: str
    detail: dict[str, Any]


class AlertDetail(Alert):
    classification: Classification | None
    duplicates: list[Duplicate]
    occurrences: list[Occurrence]
    timeline: list[TimelineEntry]


class Action(BaseModel):
    """Body of ``ack`` and ``resolve``."""

    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=200, description="who acts (user or system)")
    comment: str | None = Field(default=None, max_length=2000)


class Suppress(Action):
    """Body of ``suppress``: optionally for how long, and whether to silence in Alertmanager."""

    duration: str | None = Field(
        default=None, pattern=r"^\d+[smhd]$", description="e.g. 30m, 4h, 2d"
    )
    create_silence: bool = False

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
