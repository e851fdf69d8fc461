"""GitHub rules firing end to end through the exporter's real ``/metrics``."""

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
from tests.exporter.github.conftest import TOKEN, FakeGitHubServer
from tests.harness.services import free_port
from tests.harness.wait import wait_until

RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture
async def metrics_url(fake_github: FakeGitHubServer) -> AsyncIterator[str]:
    config = ExporterConfig.model_validate(
        {
            "rules": {"paths": [str(RULES)]},
            "collectors": [
                {
                    "type": "github",
                    "name": "gh",
                    "base_url": fake_github.url,
                    "token": TOKEN,
                    "organizations": ["acme"],
                    "interval": 0.3,
                }
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


async def violations(url: str, rule_id: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
    return [
        line
        for line in body.splitlines()
        if line.startswith("secmon_rule_violation{") and f'rule_id="{rule_id}"' in line
    ]


async def test_workflow_and_settings_rules_fire_then_resolve(
    fake_github: FakeGitHubServer, metrics_url: str
) -> None:
    async def firing() -> list[str]:
        return await violations(metrics_url, "github_pull_request_target_checkout")

    [line] = await wait_until(firing, timeout=10, interval=0.1, what="pr-target violation")
    assert 'asset="acme/api"' in line
    assert 'workflow_name="pr-target.yml"' in line
    assert 'platform="github"' in line
    for rule_id in ("github_workflow_security", "github_dependabot_critical"):
        assert await violations(metrics_url, rule_id)

    await fake_github.control("PATCH", "repos/acme/api", {"default_workflow_permissions": "read"})

    async def resolved() -> bool:
        return await violations(metrics_url, "github_workflow_token_write_default") == []

    await wait_until(resolved, timeout=10, interval=0.1, what="write-default to resolve")
