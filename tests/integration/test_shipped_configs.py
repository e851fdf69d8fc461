"""The Prometheus and Alertmanager configs that ship in prometheus/ pass the upstream checkers."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
