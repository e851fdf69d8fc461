"""Asset inventory parsing and matching; playbook look-up order and the shipped playbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.classify.inventory import InventoryError, load_inventory, parse_inventory
from bridge.classify.playbooks import PlaybookLibrary

REPO = Path(__file__).resolve().parents[3]


def test_exact_id_beats_patterns_and_first_pattern_wins() -> None:
    inventory = parse_inventory(
        {
            "assets": [
                {"pattern": "acme/*", "criticality": "medium"},
                {"pattern": "acme/infra-*", "criticality": "critical"},
                {"id": "acme/infra-core", "criticality": "low"},
            ]
        }
    )
    assert inventory.lookup("acme/infra-core", None).criticality == "low"  # type: ignore[union-attr]
    assert inventory.lookup("acme/infra-x", None).criticality == "medium"  # type: ignore[union-attr]
    assert inventory.lookup("other/x", None) is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"assets": [{"id": "a", "pattern": "b"}]}, r"assets\[0\]: set exactly one"),
        ({"assets": [{"id": "a", "criticality": "huge"}]}, r"assets\[0\]\.criticality"),
        ({"assets": [{"id": "a", "tags": "edge"}]}, r"assets\[0\]\.tags"),
        ({"assets": [{"id": "a", "colour": "red"}]}, r"assets\[0\]\.colour: unknown field"),
        ({"hosts": []}, "expected a mapping with an 'assets' list"),
    ],
)
def test_bad_inventory_names_the_field(document: object, message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        parse_inventory(document)


def test_unreadable_inventory_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "assets.yml"
    path.write_text("assets: [")
    with pytest.raises(InventoryError, match=r"assets\.yml: not valid YAML"):
        load_inventory(path)


def test_playbook_order_annotation_then_rule_then_category(tmp_path: Path) -> None:
    (tmp_path / "rule_a.md").write_text("# A")
    (tmp_path / "network_security.md").write_text("# N")
    library = PlaybookLibrary(tmp_path)
    url = {"runbook_url": "https://runbooks/x", "remediation": "do y"}
    assert library.find(url, "rule_a", None).value == "https://runbooks/x"  # type: ignore[union-attr]
    advice = library.find({"remediation": "do y"}, "rule_a", None)
    assert advice is not None
    assert advice.source == "remediation annotation"
    by_rule = library.find({}, "rule_a", "network_security")
    assert by_rule is not None
    assert by_rule.value == str(tmp_path / "rule_a.md")
    by_category = library.find({}, "rule_b", "network_security")
    assert by_category is not None
    assert by_category.value.endswith("network_security.md")
    assert library.find({}, "../rule_a", None) is None


def test_shipped_playbooks_cover_the_named_rules() -> None:
    library = PlaybookLibrary(REPO / "playbooks")
    for rule_id in (
        "kong_http_admin_api",
        "github_workflow_security",
        "aws_sg_world_open_ssh",
        "cve_detection",
    ):
        found = library.find({}, rule_id, None)
        assert found is not None, rule_id
        text = Path(found.value).read_text()
        assert text.startswith("# "), rule_id
        assert "## Contain" in text, rule_id
        assert "## Verify" in text, rule_id
