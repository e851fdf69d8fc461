"""``secmon-bridge serve --workers N``: real worker processes on one port, as a user runs them."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.cli import main
from tests.bridge.helpers import (
    API_TOKEN,
    WEBHOOK_TOKEN,
    bearer,
    drop_bridge_tables,
    example,
    start_serve,
)
from tests.harness.services import free_port
from tests.harness.wait import wait_until

pytestmark = pytest.mark.postgres


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    metrics_dir: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SECMON_BRIDGE_")}
    env.update({f"SECMON_BRIDGE_{name.upper()}": value for name, value in settings.items()})
    return env


@pytest.fixture
def serve(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Any]:
    """Start ``serve --workers N`` on PostgreSQL and Redis; stopped (if still running) after."""
    asyncio.run(drop_bridge_tables(postgres_url))
    started: list[Running] = []

    def start(workers: int = 2, port: int | None = None, **settings: str) -> Running:
        port = port or free_port()
        metrics_dir = tmp_path / "metrics"
        defaults = {
            "webhook_token": WEBHOOK_TOKEN,
            "api_token": API_TOKEN,
            "database_url": postgres_url,
            "redis_url": redis_url,
            "lifecycle__open_alerts_refresh_seconds": "0.2",
        }
        env = _env(**(defaults | settings))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        log = tmp_path / f"bridge-{len(started)}.log"
        process = start_serve(
            ["--listen", f"127.0.0.1:{port}", "--workers", str(workers)], env=env, log=log
        )
        running = Running(process, f"http://127.0.0.1:{port}", log, metrics_dir)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def _payload(n: int) -> dict[str, Any]:
    """The Kong example as a distinct alert number ``n``."""
    payload = copy.deepcopy(example("kong-admin-api-firing"))
    alert = payload["alerts"][0]
    alert["fingerprint"] = f"{n:016x}"
    alert["labels"]["asset"] = f"edge-{n}"
    return payload


async def _ready(base: str) -> None:
    async def probe() -> bool:
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{base}/-/ready") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until(probe, timeout=30, what="secmon-bridge workers to be ready")


async def _post(base: str, payloads: list[dict[str, Any]]) -> None:
    """Each payload on its own connection, concurrently, so the workers share them."""

    async def one(payload: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{base}/api/v1/alertmanager",
                data=json.dumps(payload),
                headers=bearer(WEBHOOK_TOKEN),
            ) as response,
        ):
            assert response.status == 200, await response.text()

    await asyncio.gather(*(one(p) for p in payloads))


async def _scrape(base: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        text = await response.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def _stored(base: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/alerts?limit=500"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=bearer(API_TOKEN)) as response,
    ):
        body = await response.json()
    alerts: list[dict[str, Any]] = body["alerts"]
    return alerts


RECEIVED = 'secmon_bridge_alerts_received_total{status="firing"}'
ACCEPTED = 'secmon_bridge_webhook_requests_total{code="200"}'
OPEN_CRITICAL = 'secmon_bridge_open_alerts{severity="critical"}'


def test_workers_share_the_port_store_each_alert_once_and_sum_their_metrics(serve: Any) -> None:
    bridge = serve(workers=2)

    async def run() -> tuple[int, list[dict[str, float]]]:
        await _ready(bridge.base)
        # Every alert twice, as two HA Alertmanagers would send it, to whichever worker.
        payloads = [_payload(n) for n in range(30)]
        await _post(bridge.base, payloads + payloads)

        async def all_classified() -> bool:
            alerts = await _stored(bridge.base)
            return len(alerts) == 30 and all(a["confidence"] is not None for a in alerts)

        await wait_until(all_classified, timeout=30, what="every alert classified")

        alerts = await _stored(bridge.base)
        critical = sum(1 for a in alerts if a["status"] == "open" and a["severity"] == "critical")
        assert critical > 0

        async def counted() -> bool:
            return (await _scrape(bridge.base)).get(OPEN_CRITICAL) == critical

        await wait_until(counted, timeout=15, what="open alerts counted by the chores worker")
        # Each scrape reaches one worker; every one must report all workers' values.
        return critical, [await _scrape(bridge.base) for _ in range(6)]

    critical, scrapes = asyncio.run(run())
    assert len(bridge.workers()) == 2
    for samples in scrapes:
        assert samples[RECEIVED] == 60
        assert samples[ACCEPTED] == 60
        assert samples["secmon_bridge_alerts_duplicate_total"] == 30
        assert samples[OPEN_CRITICAL] == critical
        assert samples["secmon_bridge_store_up"] == 1
        assert samples["secmon_bridge_pipeline_queue_depth"] == 0
    assert bridge.stop() == 0
    output = bridge.output()
    assert "worker 0 bridge.app: alert store ready" in output
    assert "worker 1 bridge.app: alert store ready" in output
    assert "SIGTERM: stopping 2 workers" in output
    assert "all workers stopped" in output
    assert WEBHOOK_TOKEN not in output
    assert API_TOKEN not in output
    assert list(bridge.metrics_dir.glob("*.db")) == []  # nothing left to add to the next run


def test_a_worker_that_dies_is_replaced_and_its_counts_are_kept(serve: Any) -> None:
    bridge = serve(workers=2)

    async def run() -> None:
        await _ready(bridge.base)
        await _post(bridge.base, [_payload(n) for n in range(10)])
        victim = bridge.workers()[1]
        os.kill(victim, signal.SIGKILL)

        async def replaced() -> bool:
            workers = bridge.workers()
            return len(workers) == 2 and victim not in workers

        await wait_until(replaced, timeout=15, what="a new worker in the dead one's place")
        await _ready(bridge.base)
        await _post(bridge.base, [_payload(n) for n in range(10, 20)])
        for _ in range(4):
            assert (await _scrape(bridge.base))[RECEIVED] == 20

    asyncio.run(run())
    assert bridge.stop() == 0
    assert re.search(
        r"worker \d \(pid \d+\) ended with signal 9; starting it again", bridge.output()
    )


def test_workers_that_cannot_start_stop_the_bridge_with_exit_1(serve: Any) -> None:
    bridge = serve(
        workers=2,
        database_url=f"postgresql://u:pw-secret@127.0.0.1:{free_port()}/x",
        store__timeout_seconds="1",
    )
    code = bridge.process.wait(timeout=60)
    output = bridge.output()
    assert code == 1, output
    assert "could not start (exit code 1); stopping" in output
    assert "cannot start: alert store postgresql://u:***@127.0.0.1" in output
    assert "pw-secret" not in output
    assert list(bridge.metrics_dir.glob("*.db")) == []


def test_a_port_already_taken_is_reported_before_any_worker_starts(serve: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge = serve(workers=2, port=port)
        code = bridge.process.wait(timeout=30)
    output = bridge.output()
    assert code == 1, output
    assert "cannot listen on" in output
    assert "worker 0 started" not in output


@pytest.mark.parametrize(
    ("settings", "argv", "field", "message"),
    [
        (
            {"workers": "2"},
            [],
            "workers",
            "more than one worker needs a PostgreSQL database_url",
        ),
        ({}, ["--workers", "3"], "--workers", "more than one worker needs a PostgreSQL"),
        (
            {"database_url": "postgresql://db/secmon"},
            ["--workers", "2"],
            "--workers",
            "more than one worker needs redis_url",
        ),
        ({}, ["--workers", "0"], "--workers", "must be from 1 to 64"),
    ],
)
def test_more_than_one_worker_needs_postgres_and_redis(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, str],
    argv: list[str],
    field: str,
    message: str,
) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SECMON_BRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SECMON_BRIDGE_INSECURE_NO_AUTH", "true")
    for name, value in settings.items():
        monkeypatch.setenv(f"SECMON_BRIDGE_{name.upper()}", value)
    assert main(["serve", "--listen", f"127.0.0.1:{free_port()}", *argv]) == 2
    err = capsys.readouterr().err
    assert f"{field}: {message}" in err
