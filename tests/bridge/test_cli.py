"""``secmon-bridge`` as a user runs it: ``check-config``, and ``serve`` as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from bridge.cli import main
from tests.bridge.helpers import API_TOKEN, WEBHOOK_TOKEN, bearer, example, start_serve
from tests.harness.services import free_port
from tests.harness.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment without any SECMON_BRIDGE_* the developer may have set."""
    for name in list(os.environ):
        if name.upper().startswith("SECMON_BRIDGE_"):
            monkeypatch.delenv(name)
    return dict(os.environ)


def test_check_config_ok(
    tmp_path: Path, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bridge.yml"
    path.write_text(yaml.safe_dump({"webhook_token": WEBHOOK_TOKEN, "api_token": API_TOKEN}))
    assert main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: OK")
    assert WEBHOOK_TOKEN not in out


def test_check_config_lists_every_error(
    tmp_path: Path, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bridge.yml"
    path.write_text("listen: nowhere\nmax_body_bytes: -5\nwebhook_tokn: x\n")
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"{path}: 3 configuration error(s)"
    for field in ("listen", "max_body_bytes", "webhook_tokn"):
        assert f"{path}: {field}: " in err


def test_serve_runs_a_real_bridge_and_stops_cleanly(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    config = tmp_path / "bridge.yml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'b.db'}"}))
    env = {
        **clean_env,
        "SECMON_BRIDGE_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SECMON_BRIDGE_API_TOKEN": API_TOKEN,
        "SECMON_BRIDGE_LISTEN": "127.0.0.1:1",  # --listen must win
    }
    log = tmp_path / "bridge.log"
    process = start_serve(
        ["--config", str(config), "--listen", f"127.0.0.1:{port}"], env=env, log=log
    )
    try:
        alerts, exposition = _exercise(f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=15)
    output = log.read_text()
    assert code == 0, output
    assert [a["status"] for a in alerts] == ["resolved"]
    assert "secmon_bridge_alerts_received_total" in exposition
    assert "_created" not in exposition  # disabled in the serving process
    assert "received group" in output
    assert re.search(r"garbage collector: \d+ startup objects frozen", output)
    assert "process_resident_memory_bytes" in exposition
    assert 'python_gc_collections_total{generation="0"}' in exposition
    assert "resolved id=1 rule_id=kong_http_admin_api" in output
    assert WEBHOOK_TOKEN not in output
    assert API_TOKEN not in output


def _exercise(base: str) -> tuple[list[dict[str, object]], str]:
    """Wait for readiness, deliver firing then resolved; the API's alerts and /metrics."""

    async def run() -> tuple[list[dict[str, object]], str]:
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                async with session.get(f"{base}/-/ready") as response:
                    return response.status == 200

            await wait_until(ready, timeout=15, what="secmon-bridge to be ready")
            for name in ("kong-admin-api-firing", "kong-admin-api-resolved"):
                async with session.post(
                    f"{base}/api/v1/alertmanager",
                    data=json.dumps(example(name)),
                    headers=bearer(WEBHOOK_TOKEN),
                ) as response:
                    assert response.status == 200, await response.text()
            alerts: list[dict[str, object]] = []

            async def resolved() -> bool:
                # The pipeline writes the alert (and its resolution) just after each 2xx.
                nonlocal alerts
                async with session.get(f"{base}/api/v1/alerts", headers=bearer(API_TOKEN)) as r:
                    alerts = (await r.json())["alerts"]
                return [a["status"] for a in alerts] == ["resolved"]

            await wait_until(resolved, timeout=5, what="the alert to be resolved")
            async with session.get(f"{base}/metrics") as resp:
                return alerts, await resp.text()

    return asyncio.run(run())


def test_serve_exits_1_when_the_store_is_unreachable(clean_env: dict[str, str]) -> None:
    env = {
        **clean_env,
        "SECMON_BRIDGE_INSECURE_NO_AUTH": "true",
        "SECMON_BRIDGE_DATABASE_URL": f"postgresql://u:pw-secret@127.0.0.1:{free_port()}/x",
        "SECMON_BRIDGE_STORE__TIMEOUT_SECONDS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "serve", "--listen", f"127.0.0.1:{free_port()}"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot start: alert store postgresql://u:***@127.0.0.1" in result.stderr
    assert "pw-secret" not in result.stderr
