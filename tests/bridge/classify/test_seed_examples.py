"""The seed's severity examples, with the reasons the API shows for them."""

from __future__ import annotations

from datetime import datetime

import pytest

from bridge.classify import ClassificationConfig, ClassificationEngine
from tests.bridge.classify.helpers import WORKDAY_MORNING, WORKDAY_NIGHT, FakeContext, facts


@pytest.fixture
def engine() -> ClassificationEngine:
    return ClassificationEngine(ClassificationConfig(playbooks_dir=None))


async def test_high_on_critical_production_asset_in_business_hours_is_critical(
    engine: ClassificationEngine,
) -> None:
    alert = facts(severity="high", environment="production", labels={"criticality": "critical"})
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_MORNING)

    assert result.base_severity == "high"
    assert result.severity == "critical"
    assert result.severity_score == 4.5
    by_factor = {r.factor: r for r in result.reasons}
    assert by_factor["asset_criticality"].effect == "+1"
    assert "label criticality" in by_factor["asset_criticality"].detail
    assert by_factor["environment"].effect == "+1"
    assert by_factor["business_hours"].effect == "+0.5"
    assert by_factor["severity"].effect == "critical"
    assert result.to_json()["reasons"][0] == {
        "factor": "base_severity",
        "effect": "high",
        "detail": "rule severity label is high",
    }


@pytest.mark.parametrize("now", [WORKDAY_MORNING, WORKDAY_NIGHT])
async def test_medium_on_low_criticality_staging_asset_is_low_at_any_hour(
    engine: ClassificationEngine, now: datetime
) -> None:
    alert = facts(severity="medium", environment="staging", labels={"asset_criticality": "low"})
    result = await engine.classify(alert, FakeContext(), now=now)

    assert result.severity == "low"
    assert result.asset_criticality == "low"
    effects = {r.factor: r.effect for r in result.reasons}
    assert effects["asset_criticality"] == "-1"
    assert "environment" not in effects
    # By day the sum is 0.5: rounding down (not half up) keeps the seed's example true.
    assert ("business_hours" in effects) is (now == WORKDAY_MORNING)
