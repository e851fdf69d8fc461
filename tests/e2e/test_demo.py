"""`make run`'s demo, run the way a new user runs it: the Kong alert must reach the bridge."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.harness.services import free_port
from tests.harness.stack import REPO

pytestmark = pytest.mark.e2e


def test_demo_delivers_the_critical_kong_alert_within_60_seconds(
    prometheus_binary: str, alertmanager_binary: str
) -> None:
    env = dict(os.environ)
    for name in (
        "KONG_EDGE",
        "KONG_INTERNAL",
        "EXPORTER",
        "BRIDGE",
        "PROMETHEUS",
        "ALERTMANAGER",
        "SLACK",
    ):
        env[f"SECMON_DEMO_{name}_PORT"] = str(free_port())
    result = subprocess.run(
        [
            sys.executable,
            "scripts/run_demo.py",
            "--exit-after-alert",
            "kong_http_admin_api",
            "--timeout",
            "60",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "OPEN     critical kong_http_admin_api asset=edge" in output, output
    assert "demo: stopping" in output
