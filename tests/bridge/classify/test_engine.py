"""Each modifier, category, impact, urgency, confidence and enrichment, with its reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.classify import (
    Classification,
    ClassificationConfig,
    ClassificationEngine,
    HistoryCounts,
)
from tests.bridge.classify.helpers import WORKDAY_MORNING, WORKDAY_NIGHT, FakeContext, facts

INVENTORY = """
assets:
  - id: kong-edge
    platform: kong
    owner: platform-team
    environment: production
    criticality: critical
    tags: [edge]
  - pattern: "sandbox-*"
    criticality: low
    environment: staging
"""


@pytest.fixture
def engine(tmp_path: Path) -> ClassificationEngine:
    inventory = tmp_path / "assets.yml"
    inventory.write_text(INVENTORY)
    return ClassificationEngine(ClassificationConfig(inventory_path=inventory, playbooks_dir=None))


async def test_inventory_supplies_criticality_and_environment(engine: ClassificationEngine) -> None:
    alert = facts(severity="medium", environment=None)
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_NIGHT)
    assert result.severity == "critical"  # medium + critical asset + production
    details = {r.factor: r.detail for r in result.reasons}
    assert details["asset_criticality"] == "asset kong-edge is critical (inventory kong-edge)"
    assert details["environment"] == "environment production"
    assert result.business_impact == "critical"


async def test_label_overrides_inventory(engine: ClassificationEngine) -> None:
    alert = facts(severity="medium", labels={"criticality": "low"})
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_NIGHT)
    assert result.asset_criticality == "low"
    assert result.severity == "medium"  # 1 - 1 + 1 (production)


async def test_pattern_entries_match_by_glob(engine: ClassificationEngine) -> None:
    alert = facts(asset_id="sandbox-42", environment=None, platform="aws", severity="high")
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_NIGHT)
    assert result.asset_criticality == "low"
    assert result.severity == "medium"
    assert result.business_impact == "low"


async def test_platform_restricts_inventory_entries(engine: ClassificationEngine) -> None:
    alert = facts(platform="github", environment="staging", severity="high")
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_NIGHT)
    assert result.asset_criticality == "medium"
    assert result.severity == "high"
    assert any(r.detail == "asset criticality unknown; assuming medium" for r in result.reasons)


async def test_business_hours_alone_does_not_promote(engine: ClassificationEngine) -> None:
    alert = facts(asset_id="unknown", environment="staging", severity="medium")
    day = await engine.classify(alert, FakeContext(), now=WORKDAY_MORNING)
    night = await engine.classify(alert, FakeContext(), now=WORKDAY_NIGHT)
    assert day.severity == night.severity == "medium"
    assert day.severity_score == 1.5
    assert (day.urgency, night.urgency) == ("high", "medium")


async def test_anomaly_and_business_hours_make_a_whole_step(engine: ClassificationEngine) -> None:
    alert = facts(asset_id="unknown", environment="staging", severity="medium", anomaly_score=1.7)
    result = await engine.classify(alert, FakeContext(), now=WORKDAY_MORNING)
    assert result.severity == "high"
    assert any(r.factor == "anomaly" and r.effect == "+0.5" for r in result.reasons)


async def test_severity_is_clamped_and_unknown_labels_default_to_medium(
    engine: ClassificationEngine,
) -> None:
    result = await engine.classify(facts(severity="critical"), FakeContext(), now=WORKDAY_MORNING)
    assert result.severity == "critical"
    result = await engine.classify(facts(severity="urgent"), FakeContext(), now=WORKDAY_NIGHT)
    assert result.base_severity == "medium"
    assert result.reasons[0].detail == "unknown severity label 'urgent'; defaulting to medium"


async def test_category_from_label_then_rule_prefix(engine: ClassificationEngine) -> None:
    ctx, now = FakeContext(), WORKDAY_NIGHT
    assert (await engine.classify(facts(category="x"), ctx, now=now)).category == "x"
    sg = facts(rule_id="aws_sg_world_open_ssh")
    assert (await engine.classify(sg, ctx, now=now)).category == "network_security"
    other = facts(rule_id="custom_rule")
    assert (await engine.classify(other, ctx, now=now)).category == "uncategorized"


async def test_history_and_related_incidents(engine: ClassificationEngine) -> None:
    key = ("kong_http_admin_api", "kong-edge")
    ctx = FakeContext(counts={key: HistoryCounts(25, 40)}, open_alerts={key: [1, 7, 9]})
    result = await engine.classify(facts(severity="low"), ctx, now=WORKDAY_NIGHT)
    assert ctx.calls == [key]
    assert result.historical_frequency == HistoryCounts(25, 40)
    assert result.related_incidents == (7, 9)
    # low + critical + production = high; recurring (25 >= 20 in 7 days) lowers urgency.
    assert result.urgency == "medium"
    assert result.to_json()["enrichment"]["related_incidents"] == [7, 9]


async def test_confidence_drops_for_unknown_assets(engine: ClassificationEngine) -> None:
    known = await engine.classify(facts(), FakeContext(), now=WORKDAY_NIGHT)
    unknown = await engine.classify(facts(asset_id="mystery"), FakeContext(), now=WORKDAY_NIGHT)
    assert known.confidence == 0.9
    assert unknown.confidence == 0.5
    assert "asset unknown to the inventory" in unknown.reasons[-1].detail


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"business_hours\[0\]\.weekdays\[0\]"):
        ClassificationConfig.model_validate({"business_hours": [{"weekdays": ["x"]}]})
    with pytest.raises(ValidationError, match="time_zone: unknown time zone"):
        ClassificationConfig(time_zone="Nowhere/City")
    with pytest.raises(ValidationError, match="inventory_path"):
        ClassificationConfig(inventory_path=tmp_path / "missing.yml")
    with pytest.raises(ValidationError, match="playbooks_dir"):
        ClassificationConfig(playbooks_dir=tmp_path / "nope")
    with pytest.raises(ValidationError, match="business_hour"):
        ClassificationConfig.model_validate({"business_hour": []})


async def test_the_business_hours_reason_names_each_delivery_s_own_time(
    engine: ClassificationEngine,
) -> None:
    """The reason is made once per receive time (a delivery's alerts share it), not once."""
    later = WORKDAY_MORNING + timedelta(hours=2, minutes=5)

    def hours_reason(result: Classification) -> str:
        return next(r.detail for r in result.reasons if r.factor == "business_hours")

    first = await engine.classify(facts(), FakeContext(), now=WORKDAY_MORNING)
    again = await engine.classify(facts(), FakeContext(), now=WORKDAY_MORNING)
    other = await engine.classify(facts(), FakeContext(), now=later)
    assert hours_reason(first) == hours_reason(again)
    assert hours_reason(other) != hours_reason(first)
    local = later.astimezone(engine.config.zone)
    assert hours_reason(other).startswith(f"{local:%a %H:%M}")
