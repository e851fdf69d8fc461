"""`make run`'s demo, run the way a new user runs it: the Kong alert must reach the bridge."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.harness.services import free_port
from tests.harness.stack import REPO

pytestmark = pytest.mark.e2e

DEMO_PORTS = ("KONG_EDGE", "KONG_INTERNAL", "EXPORTER", "BRIDGE", "PROMETHEUS", "ALERTMANAGER",
              "SLACK")  # fmt: skip


def test_demo_delivers_the_critical_kong_alert_within_60_seconds(
    prometheus_binary: str, alertmanager_binary: str
) -> None:
    env = dict(os.environ)
    for name in DEMO_PORTS:
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


def test_a_second_signal_while_stopping_leaves_no_child_running(
    prometheus_binary: str, alertmanager_binary: str
) -> None:
    """Ctrl-C twice, or `make run` under a supervisor that signals make and the demo alike:
    the second signal must hurry the stop, not abandon it with the children still up."""
    env = dict(os.environ)
    ports = {name: free_port() for name in DEMO_PORTS}
    env.update({f"SECMON_DEMO_{name}_PORT": str(port) for name, port in ports.items()})
    demo = subprocess.Popen(
        [sys.executable, "scripts/run_demo.py", "--timeout", "120"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    try:
        for line in demo.stdout:
            if line.startswith("Waiting for alerts"):
                break
        demo.send_signal(signal.SIGTERM)
        for line in demo.stdout:
            if line.startswith("demo: stopping"):
                break
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
    rest = demo.stdout.read()
    assert "Traceback" not in rest, rest
    listening = []
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                listening.append(name)
    assert listening == []
