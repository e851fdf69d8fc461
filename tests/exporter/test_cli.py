"""``secmon-exporter`` as a real process: serve, SIGTERM, check-config."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.exporter.conftest import TOKEN, FakeKongServer
from tests.harness.services import free_port
from tests.harness.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


def exporter_command() -> list[str]:
    script = Path(sys.executable).parent / "secmon-exporter"
    found = str(script) if script.exists() else shutil.which("secmon-exporter")
    return [found] if found else [sys.executable, "-m", "exporter.cli"]


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *exporter_command(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def http_get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


@pytest.fixture
def config_path(tmp_path: Path, fake_kong: FakeKongServer) -> Path:
    path = tmp_path / "exporter.yml"
    path.write_text(
        f"""
listen: "127.0.0.1:1"   # overridden by SECMON_EXPORTER_LISTEN in the test
rules: {{paths: ["{REPO / "rules"}"]}}
collectors:
  - type: kong
    name: edge
    admin_url: {fake_kong.url}
    interval: 0.5
    timeout: 2
"""
    )
    return path


@pytest.fixture
async def served(
    config_path: Path, fake_kong: FakeKongServer
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    await fake_kong.control("PUT", "config", {"token": TOKEN})
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "SECMON_EXPORTER_LISTEN": f"127.0.0.1:{port}",
        "SECMON_EXPORTER_COLLECTORS__EDGE__TOKEN": TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        *exporter_command(),
        "serve",
        "--config",
        str(config_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO,
        env=env,
    )
    yield process, f"http://127.0.0.1:{port}"
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_serve_answers_and_exits_cleanly_on_sigterm(
    served: tuple[asyncio.subprocess.Process, str],
) -> None:
    process, url = served

    async def healthy() -> bool:
        return (await http_get(url + "/-/healthy"))[0] == 200

    await wait_until(healthy, timeout=20, interval=0.1, what="exporter /-/healthy")

    async def polled() -> str | None:
        status, body = await http_get(url + "/metrics")
        up = 'secmon_collector_up{collector="edge",type="kong"} 1.0'
        return body if status == 200 and up in body else None

    body = await wait_until(polled, timeout=20, interval=0.2, what="a successful Kong poll")
    assert "secmon_kong_node_info" in body
    assert "_created" not in body

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    assert process.stdout is not None
    output = (await process.stdout.read()).decode()
    assert "listening on http://127.0.0.1" in output
    assert "shutting down" in output
    assert TOKEN not in output


async def test_check_config_ok(config_path: Path) -> None:
    code, out, _ = await run("check-config", "--config", str(config_path))
    assert code == 0
    assert "edge (kong)" in out


async def test_check_config_reports_all_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "listen: nope\n"
        "collectors:\n"
        "  - {type: kong, name: a, admin_url: 'ftp://x'}\n"
        "  - {type: kong, name: a, admin_url: 'http://k:8001', timeout: -1}\n"
    )
    code, _, err = await run("check-config", "--config", str(path))
    assert code == 2
    assert "4 problem(s)" in err
    for fragment in (
        f"{path}: listen:",
        f"{path}: collectors[0].admin_url:",
        f"{path}: collectors[1].name: duplicate",
        f"{path}: collectors[1].timeout:",
    ):
        assert fragment in err


async def test_serve_refuses_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("collectors: [{type: kong, name: a}]\n")
    code, _, err = await run("serve", "--config", str(path))
    assert code == 2
    assert "collectors[0].admin_url: Field required" in err


async def test_rules_check_and_compile(tmp_path: Path) -> None:
    code, out, _ = await run("rules", "check", str(REPO / "rules" / "kong"))
    assert code == 0, out
    output = tmp_path / "alerts.yml"
    code, _, err = await run("rules", "compile", str(REPO / "rules" / "kong"), "-o", str(output))
    assert code == 0, err
    assert 'secmon_rule_violation{rule_id="kong_http_admin_api"}' in output.read_text()


async def test_rules_check_rejects_a_broken_rule(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("rule_id: x\nseverity: apocalyptic\n")
    code, out, err = await run("rules", "check", str(tmp_path))
    assert code != 0
    assert "broken.yaml" in out + err


async def test_serve_refuses_broken_rules(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("rule_id: x\nseverity: apocalyptic\n")
    config = tmp_path / "exporter.yml"
    config.write_text(f"rules: {{paths: ['{tmp_path}']}}\n")
    code, _, err = await run("serve", "--config", str(config))
    assert code == 2
    assert "invalid rules" in err
