"""The records that cross the classification seam: facts in, a reasoned classification out.

The integration side builds :class:`AlertFacts` from a stored alert and implements
:class:`ClassificationContext` against the alert store (batched per delivery); the engine
returns a :class:`Classification` whose ``reasons`` answer "why is this critical?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import Any, Protocol

from bridge.frozen import frozen

# Ordered from least to most severe; the index is the severity's rank.
SEVERITY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")
CRITICALITY_LEVELS: tuple[str, ...] = SEVERITY_LEVELS
URGENCY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "immediate")


@frozen
class AlertFacts:
    """What classification needs from one alert (labels as compiled rules attach them)."""

    alert_id: int
    fingerprint: str
    rule_id: str | None
    title: str | None
    severity: str | None  # the rule's severity label (critical|high|medium|low)
    category: str | None
    asset_id: str | None
    environment: str | None
    platform: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    # Filled by the anomaly stage (vmanomaly convention: > 1 means anomalous); None = unknown.
    anomaly_score: float | None = None


@frozen
class Reason:
    """One decision and why.

    E.g. ``Reason("asset_criticality", "+1", "asset edge is critical (inventory edge)")``.
    """

    factor: str
    effect: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"factor": self.factor, "effect": self.effect, "detail": self.detail}


@frozen
class HistoryCounts:
    """How often the same rule fired on the same asset before (alert instances)."""

    last_7d: int
    last_30d: int


class ClassificationContext(Protocol):
    """Store-backed look-ups the engine needs; implemented by the integration side."""

    async def history(self, rule_id: str | None, asset_id: str | None) -> HistoryCounts: ...

    async def related_open(
        self, rule_id: str | None, asset_id: str | None, exclude_id: int
    ) -> list[int]: ...


@frozen
class Classification:
    """The engine's verdict on one alert, with every decision's reason."""

    severity: str
    base_severity: str
    category: str
    business_impact: str
    urgency: str
    confidence: float
    reasons: tuple[Reason, ...]
    asset_criticality: str
    historical_frequency: HistoryCounts
    related_incidents: tuple[int, ...]
    remediation_playbook: str | None
    # The numeric trail behind ``severity``: base rank + sum of modifiers, before rounding.
    severity_score: float = field(default=0.0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape the API shows under ``classification``)."""
        return {
            "severity": self.severity,
            "base_severity": self.base_severity,
            "severity_score": self.severity_score,
            "category": self.category,
            "business_impact": self.business_impact,
            "urgency": self.urgency,
            "confidence": self.confidence,
            "reasons": [reason.to_json() for reason in self.reasons],
            "enrichment": self.enrichment_json(),
        }

    def enrichment_json(self) -> dict[str, Any]:
        """The ``enrichment`` part of :meth:`to_json`, a new dict each call."""
        return {
            "asset_criticality": self.asset_criticality,
            "historical_frequency": {
                "last_7d": self.historical_frequency.last_7d,
                "last_30d": self.historical_frequency.last_30d,
            },
            "related_incidents": list(self.related_incidents),
            "remediation_playbook": self.remediation_playbook,
        }
