"""The shipped anomaly alerting rule: current, valid for promtool, and its unit tests pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bridge.anomaly.alert_rule import RULE_FILE, main, prom_duration, render, rule_group

RULE_TESTS = RULE_FILE.parent / "tests" / "anomaly.test.yml"


def test_shipped_rule_file_is_current() -> None:
    assert RULE_FILE.read_text() == render(), (
        "prometheus/rules/secmon-anomaly.yml is stale: run "
        "`python -m bridge.anomaly.alert_rule > prometheus/rules/secmon-anomaly.yml`"
    )


def test_rule_is_valid_and_its_unit_tests_pass(promtool_binary: str) -> None:
    for argv in (["check", "rules", str(RULE_FILE)], ["test", "rules", str(RULE_TESTS)]):
        done = subprocess.run(
            [promtool_binary, *argv], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_hold_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rule_group(900)["groups"][0]["rules"][0]["keep_firing_for"] == "15m"
    assert [prom_duration(s) for s in (45, 300, 5400, 86_400)] == ["45s", "5m", "90m", "1d"]
    config = tmp_path / "bridge.yml"
    config.write_text(yaml.safe_dump({"anomaly": {"hold": "2h"}}))
    assert main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out)["groups"][0]["rules"][0]["keep_firing_for"] == "2h"
