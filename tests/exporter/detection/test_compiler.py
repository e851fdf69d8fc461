"""The compiler: the committed rule file is current, promtool accepts it, and its tests pass."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter.detection import alert_name, compile_rules, compile_rules_yaml, load_rules
from exporter.detection.commands import check_command, compile_command
from tests.exporter.detection.factories import REPO, RULES_DIR
from tests.harness.services import require_binary

GENERATED = REPO / "prometheus" / "rules" / "secmon-detections.yml"
PROMTOOL_TESTS = sorted((REPO / "prometheus" / "rules" / "tests").glob("*.test.yml"))


def test_committed_rule_file_is_current() -> None:
    expected = compile_rules_yaml(load_rules([RULES_DIR]))
    assert GENERATED.read_text(encoding="utf-8") == expected, (
        "prometheus/rules/secmon-detections.yml is stale: run "
        "`secmon-exporter rules compile rules/ -o prometheus/rules/secmon-detections.yml`"
    )


def _alerts() -> dict[str, dict[str, object]]:
    compiled = compile_rules(load_rules([RULES_DIR]))
    return {r["alert"]: r for g in compiled["groups"] for r in g["rules"]}


def test_kong_http_admin_api_alert() -> None:
    assert _alerts()["KongHttpAdminApi"] == {
        "alert": "KongHttpAdminApi",
        "expr": 'secmon_rule_violation{rule_id="kong_http_admin_api"} > 0',
        "labels": {
            "rule_id": "kong_http_admin_api",
            "category": "configuration_security",
            "source": "kong_monitor",
            "severity": "critical",
            "channels": "slack_critical,email_security_team",
            "escalation": "immediate",
        },
        "annotations": {
            "title": "Kong Admin API exposed over HTTP",
            "message": "Admin API at {{ $labels.endpoint }} is accessible over unencrypted HTTP",
            "remediation": "Configure HTTPS and restrict access to admin network",
            "description": "Detects Kong Admin API accessible over HTTP",
            "cwe_id": "CWE-319",
            "owasp_category": "A02:2021 - Cryptographic Failures",
            "compliance_frameworks": "PCI_DSS,SOC2",
        },
    }


def test_one_alert_per_rule_with_contract_labels() -> None:
    rules = load_rules([RULES_DIR])
    alerts = _alerts()
    assert len(alerts) == len(rules)
    for rule in rules:
        alert = alerts[alert_name(rule.rule_id)]
        labels = alert["labels"]
        assert isinstance(labels, dict)
        assert labels["rule_id"] == rule.rule_id
        assert labels["category"] == rule.category
        assert "escalation" in labels
        # platform/asset/environment come from the series; a static value would override them.
        assert not {"platform", "asset", "environment"} & set(labels)
        assert ("severity" in labels) is (rule.severity != "varies_by_cvss")
        expr = str(alert["expr"])
        metric = "secmon_rule_violation" if rule.kind == "state" else "secmon_rule_matches_total"
        assert f'{metric}{{rule_id="{rule.rule_id}"}}' in expr


@pytest.mark.parametrize(
    ("rule_id", "name"),
    [
        ("kong_http_admin_api", "KongHttpAdminApi"),
        ("cve_detection", "CveDetection"),
        ("a__b", "AB"),
    ],
)
def test_alert_name(rule_id: str, name: str) -> None:
    assert alert_name(rule_id) == name


def test_static_text_is_not_a_template(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        """\
rule_id: braces
name: "Has {{ braces }} in its name"
severity: low
category: test_rules
conditions:
  - data.x EXISTS
metadata:
  owasp_category: "{{ not a template }}"
""",
        encoding="utf-8",
    )
    (alert,) = compile_rules(load_rules([tmp_path]))["groups"][0]["rules"]
    assert alert["annotations"]["title"] == 'Has {{ "{{" }} braces }} in its name'
    assert alert["for"] == "1m"


def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(GENERATED)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_cover_every_seed_rule() -> None:
    promtool = require_binary("promtool")
    assert PROMTOOL_TESTS
    tested = _tested_alerts()
    seed = {
        "KongHttpAdminApi",
        "KongPluginSecurityChange",
        "GithubWorkflowSecurity",
        "AwsSecurityGroupChange",
        "CveDetection",
    }
    assert seed <= tested
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, PROMTOOL_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _tested_alerts() -> set[str]:
    """Alerts that have both a firing and a non-firing case in the promtool tests."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in PROMTOOL_TESTS:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    return firing & quiet


def test_check_command_reports_and_fails(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("rule_id: bad\nname: x\nseverity: high\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_command([str(tmp_path)], out=out, err=err) == 1
    assert "bad.yaml:1: [bad] category: Field required" in err.getvalue()
    assert "conditions: Field required" in err.getvalue()


def test_check_command_accepts_the_pack() -> None:
    out = io.StringIO()
    assert check_command([str(RULES_DIR)], out=out) == 0
    assert out.getvalue().endswith(": OK\n")


def test_check_command_rejects_an_empty_directory(tmp_path: Path) -> None:
    err = io.StringIO()
    assert check_command([str(tmp_path)], err=err) == 1
    assert "no rules found" in err.getvalue()


def test_compile_command_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "secmon-detections.yml"
    assert compile_command([str(RULES_DIR)], str(target), err=io.StringIO()) == 0
    assert target.read_text(encoding="utf-8") == GENERATED.read_text(encoding="utf-8")
    out = io.StringIO()
    assert compile_command([str(RULES_DIR)], None, out=out) == 0
    assert out.getvalue() == target.read_text(encoding="utf-8")
