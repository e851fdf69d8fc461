"""Builders for classification tests: alert facts and an in-memory store context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.classify import AlertFacts, HistoryCounts

# Tuesday 2024-03-05: 10:00 UTC is within the default business hours, 22:00 is not.
WORKDAY_MORNING = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
WORKDAY_NIGHT = datetime(2024, 3, 5, 22, 0, tzinfo=UTC)


@dataclass
class FakeContext:
    """A ClassificationContext over dicts, recording what the engine asked for."""

    counts: dict[tuple[str | None, str | None], HistoryCounts] = field(default_factory=dict)
    open_alerts: dict[tuple[str | None, str | None], list[int]] = field(default_factory=dict)
    calls: list[tuple[str | None, str | None]] = field(default_factory=list)

    async def history(self, rule_id: str | None, asset_id: str | None) -> HistoryCounts:
        self.calls.append((rule_id, asset_id))
        return self.counts.get((rule_id, asset_id), HistoryCounts(0, 0))

    async def related_open(
        self, rule_id: str | None, asset_id: str | None, exclude_id: int
    ) -> list[int]:
        return [i for i in self.open_alerts.get((rule_id, asset_id), []) if i != exclude_id]


def facts(**overrides: Any) -> AlertFacts:
    values: dict[str, Any] = {
        "alert_id": 1,
        "fingerprint": "abc123",
        "rule_id": "kong_http_admin_api",
        "title": "Kong Admin API exposed over HTTP",
        "severity": "high",
        "category": None,
        "asset_id": "kong-edge",
        "environment": "production",
        "platform": "kong",
        "labels": {},
        "annotations": {},
        "starts_at": WORKDAY_MORNING,
    }
    values.update(overrides)
    return AlertFacts(**values)
