"""Inventory merge, enrichment and the score formula (pure, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.config import ConfigError, load_config
from exporter.events import Event
from exporter.inventory import (
    AssetEntry,
    Inventory,
    InventoryError,
    load_assets,
    security_score,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "assets.yml"


def event(platform: str, asset: str, environment: str = "production") -> Event:
    return Event(
        source="s", event_type="t", platform=platform, asset=asset, data={}, observed_at=0.0,
        environment=environment,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("counts", "score"),
    [
        ({}, 100),
        ({"critical": 1}, 60),
        ({"high": 1}, 80),
        ({"medium": 3}, 70),
        ({"low": 1, "medium": 1}, 85),
        ({"critical": 2, "high": 1}, 0),
        ({"critical": 9}, 0),
        ({"info": 4}, 100),
    ],
)
def test_score_formula(counts: dict[str, int], score: int) -> None:
    assert security_score(counts) == score


def test_example_file_loads_and_exact_beats_pattern() -> None:
    inventory = Inventory(load_assets(EXAMPLE))
    edge = inventory.match("kong", "edge")
    assert edge is not None
    assert (edge.owner, edge.criticality) == ("team-gateway", "critical")
    payments = inventory.match("github", "acme/payments-api")
    assert payments is not None
    assert payments.owner == "team-payments"  # first matching pattern, not "acme/*"
    assert inventory.match("github", "other/repo") is None
    assert inventory.match("kong", "internal-1") is not None


def test_enrichment_sets_environment_owner_and_criticality() -> None:
    inventory = Inventory(
        [
            AssetEntry(platform="kong", id="edge", owner="gw", criticality="critical"),
            AssetEntry(platform="kong", pattern="stg-*", environment="staging"),
        ]
    )
    out = inventory.enrich("c", [event("kong", "edge"), event("kong", "stg-1"), event("x", "y")])
    assert out[0].environment == "production"  # the entry sets none: the collector's stays
    assert dict(out[0].extra_labels) == {"owner": "gw", "criticality": "critical"}
    assert out[1].environment == "staging"
    assert out[2] == event("x", "y")


def test_merge_declared_and_discovered_with_scores() -> None:
    violations = [
        ("r1", "critical", "c", "kong", "edge", "production"),
        ("r2", "high", "c", "kong", "edge", "production", "route-a"),
        ("r2", "high", "c", "kong", "edge", "production", "route-b"),
        ("r3", "low", "c", "github", "acme/api", "production"),
    ]
    inventory = Inventory(
        [AssetEntry(platform="kong", id="edge", owner="gw", criticality="critical"),
         AssetEntry(platform="kong", id="declared-only", owner="gw")],
        violations=lambda: violations, clock=lambda: 5.0,
    )  # fmt: skip
    inventory.enrich("edge", [event("kong", "edge"), event("github", "acme/api")])
    rows = {(a.platform, a.asset): a for a in inventory.assets()}
    assert set(rows) == {("kong", "edge"), ("kong", "declared-only"), ("github", "acme/api")}
    edge = rows[("kong", "edge")]
    assert (edge.declared, edge.discovered, edge.last_seen) == (True, True, 5.0)
    assert edge.security_score == 20  # 100 - 40 - 2*20
    assert rows[("kong", "declared-only")].to_json()["discovered"] is False
    assert rows[("github", "acme/api")].security_score == 95
    registry = CollectorRegistry()
    registry.register(inventory)
    assert (
        registry.get_sample_value(
            "secmon_asset_security_score", {"platform": "kong", "asset": "edge"}
        )
        == 20.0
    )
    assert (
        registry.get_sample_value(
            "secmon_asset_open_violations",
            {"platform": "kong", "asset": "edge", "severity": "high"},
        )
        == 2.0
    )
    text = generate_latest(registry).decode()
    assert (
        'secmon_asset_info{asset="edge",criticality="critical",environment="production",'
        'owner="gw",platform="kong",tags=""} 1.0'
    ) in text


def test_bad_assets_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "assets.yml"
    path.write_text(
        "assets:\n"
        "  - {platform: kong, id: a, pattern: 'b*'}\n"
        "  - {platform: kong, id: c, criticality: urgent}\n"
    )
    with pytest.raises(InventoryError) as caught:
        load_assets(path)
    assert len(caught.value.problems) == 2
    config = tmp_path / "exporter.yml"
    config.write_text(f"inventory: {{path: {path}}}\n")
    with pytest.raises(ConfigError, match=r"inventory"):
        load_config(config)


def test_config_accepts_inventory_path(tmp_path: Path) -> None:
    config = tmp_path / "exporter.yml"
    config.write_text(f"inventory: {{path: {EXAMPLE}}}\n")
    assert load_config(config).inventory.path == EXAMPLE
