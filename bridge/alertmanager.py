"""The Alertmanager webhook payload (version 4) and its conversion into a store delivery.

Field names follow Alertmanager's ``notify/webhook`` message. Unknown fields are accepted and
kept (``extra="allow"``): newer Alertmanagers add fields (``notification_reason``,
``routeLabels``) and rejecting them would make Alertmanager drop alerts for good. The raw body
is stored verbatim as well.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from bridge.store.base import Delivery, IncomingAlert

# Go's zero time.Time: Alertmanager's way of saying "no end yet" for a firing alert.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


class WebhookAlert(BaseModel):
    """One alert of a webhook payload."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    @field_validator("ends_at")
    @classmethod
    def _zero_means_unset(cls, value: datetime | None) -> datetime | None:
        return None if value is not None and value <= GO_ZERO_TIME else value

    def to_incoming(self) -> IncomingAlert:
        return IncomingAlert(
            fingerprint=self.fingerprint,
            status=self.status,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            labels=self.labels,
            annotations=self.annotations,
            generator_url=self.generator_url,
        )


class WebhookPayload(BaseModel):
    """A whole notification: one Alertmanager group flush."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert]


def parse_payload(body: bytes) -> WebhookPayload:
    """Validate a webhook body; raises pydantic's ``ValidationError`` (see :func:`describe`)."""
    payload = WebhookPayload.model_validate_json(body)
    if b"\\u0000" in body:  # rare: only then look for the string that holds it
        _refuse_nul(payload)
    return payload


def _refuse_nul(payload: WebhookPayload) -> None:
    """Refuse a NUL character in a field the store keeps in columns: PostgreSQL's text and
    jsonb cannot hold one. Both stores refuse it alike, with the field's path, before
    anything is stored. (Unknown fields live only in the raw body, which keeps the escape.)"""
    known: dict[str, Any] = {
        "groupKey": payload.group_key,
        "receiver": payload.receiver,
        "externalURL": payload.external_url,
        "groupLabels": payload.group_labels,
        "commonLabels": payload.common_labels,
        "commonAnnotations": payload.common_annotations,
        "alerts": [
            {
                "labels": alert.labels,
                "annotations": alert.annotations,
                "generatorURL": alert.generator_url,
                "fingerprint": alert.fingerprint,
            }
            for alert in payload.alerts
        ],
    }
    found: list[tuple[str | int, ...]] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, (*path, "(name)"))
                walk(item, (*path, key.replace("\x00", "\\u0000")))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(known, ())
    if found:
        error = PydanticCustomError("nul_character", _NUL)
        raise ValidationError.from_exception_data(
            "WebhookPayload", [{"type": error, "loc": path, "input": None} for path in found]
        )


_NUL = "NUL characters (\\u0000) cannot be stored"


def describe(error: ValidationError) -> list[str]:
    """``alerts.0.startsAt: Input should be ...`` for each problem, without echoing input."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        lines.append(f"{path}: {item['msg']}" if path else str(item["msg"]))
    return lines


def is_json_error(error: ValidationError) -> bool:
    """True when the body was not JSON at all (as opposed to JSON of the wrong shape)."""
    return any(item["type"] == "json_invalid" for item in error.errors())


def to_delivery(payload: WebhookPayload, body: bytes, *, received_at: datetime) -> Delivery:
    return Delivery(
        # The body parsed as JSON, so it is UTF-8 (JSON's only interchange encoding).
        body=body.decode("utf-8"),
        sha256=hashlib.sha256(body).hexdigest(),
        group_key=payload.group_key,
        receiver=payload.receiver,
        status=payload.status,
        truncated_alerts=payload.truncated_alerts,
        received_at=received_at,
        alerts=[alert.to_incoming() for alert in payload.alerts],
    )
