"""The Prometheus and Alertmanager configs that ship in prometheus/ pass the upstream checkers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.harness.stack import (
    PROMETHEUS_DIR,
    detection_rule_files,
    render_alertmanager_config,
    render_prometheus_config,
    write_yaml,
)


def run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_shipped_prometheus_config_is_valid(promtool_binary: str) -> None:
    run(
        [
            promtool_binary,
            "check",
            "config",
            "--syntax-only",
            str(PROMETHEUS_DIR / "prometheus.yml"),
        ]
    )


def test_rendered_prometheus_config_with_rules_is_valid(
    promtool_binary: str, tmp_path: Path
) -> None:
    config = render_prometheus_config(
        exporter="127.0.0.1:9188",
        bridge="127.0.0.1:9189",
        alertmanager="127.0.0.1:9093",
        rule_files=detection_rule_files(),
    )
    output = run([promtool_binary, "check", "config", str(write_yaml(tmp_path / "p.yml", config))])
    assert "SUCCESS" in output


def test_shipped_alertmanager_config_is_valid(amtool_binary: str, tmp_path: Path) -> None:
    run([amtool_binary, "check-config", str(PROMETHEUS_DIR / "alertmanager.yml")])
    token = tmp_path / "token"
    token.write_text("t")
    rendered = render_alertmanager_config(webhook_url="http://127.0.0.1:1/x", token_file=token)
    run([amtool_binary, "check-config", str(write_yaml(tmp_path / "am.yml", rendered))])


def test_alertmanager_sends_the_bridge_every_alert_with_resolved(tmp_path: Path) -> None:
    config = render_alertmanager_config(webhook_url="http://b/x", token_file=tmp_path / "t")
    webhook = config["receivers"][0]["webhook_configs"][0]
    assert webhook["send_resolved"] is True
    assert webhook["max_alerts"] == 0
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"


SELF_RULES = PROMETHEUS_DIR / "rules" / "secmon-self.yml"
SOURCES = [*Path(PROMETHEUS_DIR.parent, "exporter").rglob("*.py"),
           *Path(PROMETHEUS_DIR.parent, "bridge").rglob("*.py")]  # fmt: skip


def test_every_shipped_rule_file_passes_promtool(promtool_binary: str) -> None:
    files = detection_rule_files()
    assert SELF_RULES in files
    output = run([promtool_binary, "check", "rules", *map(str, files)])
    assert "FAILED" not in output


def test_self_monitoring_rules_follow_the_alert_contract_and_name_real_metrics() -> None:
    groups = yaml.safe_load(SELF_RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    source = "\n".join(path.read_text() for path in SOURCES)
    for rule in rules:
        labels = rule["labels"]
        assert labels["category"] == "secmon_health", rule["alert"]
        assert labels["severity"] in {"critical", "high", "medium", "low"}, rule["alert"]
        assert labels["rule_id"].startswith("secmon_"), rule["alert"]
        assert {"title", "message", "remediation"} <= set(rule["annotations"]), rule["alert"]
        # Every secmon metric an expression reads is one the exporter or the bridge exports
        # (counters are declared without their _total suffix).
        for metric in re.findall(r"\bsecmon_[a-z_]+", rule["expr"]):
            declared = metric.removesuffix("_total")
            assert f'"{declared}"' in source, f"{rule['alert']}: {metric} is not exported"
    assert len({rule["labels"]["rule_id"] for rule in rules}) == len(rules)


def test_every_self_monitoring_alert_has_a_promtool_case() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "rules" / "tests" / "self.test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(SELF_RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    assert alerts <= tested, f"no firing case for {sorted(alerts - tested)}"
