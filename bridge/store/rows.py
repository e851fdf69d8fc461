"""Alert rows → :class:`~bridge.store.base.StoredAlert`, shared by both backends.

The backends differ only in how a value arrives: PostgreSQL hands over datetimes and decoded
JSON, SQLite fixed-width text. Each passes its two decoders; the mapping itself is one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bridge.store.base import StoredAlert
from bridge.store.records import LIFECYCLE_STATUSES, LifecycleStatus

ALERT_COLUMNS: tuple[str, ...] = (
    "id", "fingerprint", "rule_id", "alertname", "title", "severity", "category", "status",
    "am_status", "asset_id", "environment", "labels", "annotations", "generator_url",
    "starts_at", "ends_at", "occurrence_count", "created_at", "updated_at", "acknowledged_at",
    "resolved_at", "base_severity", "business_impact", "urgency", "confidence", "reasons",
    "enrichment", "classified_at", "primary_id", "dedupe_score", "last_occurrence_at",
    "duplicates", "acknowledged_by", "resolved_by", "suppressed_at", "suppressed_by",
    "suppressed_until", "silence_id",
)  # fmt: skip
COLUMNS_SQL = ", ".join(ALERT_COLUMNS)
_TIMES = ("ends_at", "acknowledged_at", "resolved_at", "classified_at", "last_occurrence_at",
          "suppressed_at", "suppressed_until")  # fmt: skip
_JSON = ("labels", "annotations", "reasons", "enrichment", "duplicates")

TimeDecoder = Callable[[Any], datetime | None]
JsonDecoder = Callable[[Any], Any]


def lifecycle_status(value: str) -> LifecycleStatus:
    for status in LIFECYCLE_STATUSES:
        if value == status:
            return status
    raise ValueError(f"unknown alert status {value!r}")


def stored_alert(row: Mapping[str, Any], *, time: TimeDecoder, json: JsonDecoder) -> StoredAlert:
    values = {name: row[name] for name in ALERT_COLUMNS}
    for name in _TIMES:
        values[name] = time(values[name])
    for name in _JSON:
        values[name] = json(values[name])
    for name in ("starts_at", "created_at", "updated_at"):
        decoded = time(values[name])
        if decoded is None:
            raise ValueError(f"{name} is NULL")
        values[name] = decoded
    values["status"] = lifecycle_status(values["status"])
    values["am_status"] = "resolved" if values["am_status"] == "resolved" else "firing"
    values["reasons"] = tuple(values["reasons"])
    values["duplicates"] = tuple(values["duplicates"])
    return StoredAlert(**values)
