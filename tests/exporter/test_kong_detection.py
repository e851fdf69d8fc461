"""The seed's ``kong_http_admin_api`` rule firing through the exporter's real ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.cli import build_runtime
from exporter.config import ExporterConfig
from exporter.detection import DetectionState
from exporter.http import create_app
from tests.exporter.conftest import FakeKongServer
from tests.harness.services import free_port
from tests.harness.wait import wait_until

RULES = Path(__file__).resolve().parents[2] / "rules"
VIOLATION = "secmon_rule_violation{"


@pytest.fixture
async def metrics_url(fake_kong: FakeKongServer) -> AsyncIterator[str]:
    config = ExporterConfig.model_validate(
        {
            "rules": {"paths": [str(RULES)]},
            "collectors": [
                {"type": "kong", "name": "edge", "admin_url": fake_kong.url, "interval": 0.2}
            ],
        }
    )
    registry = CollectorRegistry()
    detection = DetectionState.from_paths(config.rules.paths)
    registry.register(detection)
    runtime = build_runtime(config, registry, detection)
    runner = web.AppRunner(create_app(runtime=runtime, registry=registry))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/metrics"
    await runner.cleanup()


async def violations(url: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
    return [
        line
        for line in body.splitlines()
        if line.startswith(VIOLATION) and 'rule_id="kong_http_admin_api"' in line
    ]


async def test_insecure_admin_api_violates_until_fixed(
    fake_kong: FakeKongServer, metrics_url: str
) -> None:
    async def firing() -> list[str]:
        return await violations(metrics_url)

    [line] = await wait_until(firing, timeout=10, interval=0.1, what="kong_http_admin_api")
    assert line.endswith(" 1.0")
    for label in (
        'severity="critical"',
        'platform="kong"',
        'asset="edge"',
        'environment="production"',
        'endpoint="admin_listen 0.0.0.0:8001"',
    ):
        assert label in line

    await fake_kong.use("secure")

    async def resolved() -> bool:
        return await violations(metrics_url) == []

    await wait_until(resolved, timeout=10, interval=0.1, what="the violation to disappear")


async def test_failed_poll_keeps_the_violation(fake_kong: FakeKongServer, metrics_url: str) -> None:
    async def firing() -> list[str]:
        return await violations(metrics_url)

    await wait_until(firing, timeout=10, interval=0.1, what="kong_http_admin_api")
    await fake_kong.use("secure")
    await fake_kong.fail(status=503, count=1000)  # Kong unreachable: no news is not good news
    requests_before = len(fake_kong.fake.requests)

    async def polled_twice() -> bool:
        return len(fake_kong.fake.requests) >= requests_before + 2

    await wait_until(polled_twice, timeout=10, interval=0.1, what="failing polls")
    assert len(await violations(metrics_url)) == 1
