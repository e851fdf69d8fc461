"""Kong's entity rules firing end to end through ``/metrics``, with two Kong targets at once."""

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
from tests.exporter.conftest import FakeKongServer, start_fake_kong
from tests.harness.services import free_port
from tests.harness.wait import wait_until

RULES = Path(__file__).resolve().parents[2] / "rules"
CORS = "c0ffee00-0000-4000-8000-000000000003"
JWT = "c0ffee00-0000-4000-8000-000000000001"


@pytest.fixture
async def two_kongs() -> AsyncIterator[tuple[FakeKongServer, FakeKongServer]]:
    edge_runner, edge = await start_fake_kong("insecure")
    internal_runner, internal = await start_fake_kong("secure")
    yield edge, internal
    await edge_runner.cleanup()
    await internal_runner.cleanup()


@pytest.fixture
async def metrics_url(two_kongs: tuple[FakeKongServer, FakeKongServer]) -> AsyncIterator[str]:
    edge, internal = two_kongs
    config = ExporterConfig.model_validate(
        {
            "rules": {"paths": [str(RULES)]},
            "collectors": [
                {"type": "kong", "name": "edge", "admin_url": edge.url, "interval": 0.2},
                {
                    "type": "kong",
                    "name": "internal",
                    "admin_url": internal.url,
                    "interval": 0.2,
                    "environment": "staging",
                },
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


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def lines(body: str, prefix: str, rule_id: str) -> list[str]:
    return sorted(
        line
        for line in body.splitlines()
        if line.startswith(prefix) and f'rule_id="{rule_id}"' in line
    )


async def test_state_rules_fire_per_target_and_clear(
    two_kongs: tuple[FakeKongServer, FakeKongServer], metrics_url: str
) -> None:
    edge, _ = two_kongs

    async def unauthenticated() -> list[str]:
        return lines(await scrape(metrics_url), "secmon_rule_violation{", "kong_route_without_auth")

    found = await wait_until(unauthenticated, timeout=10, what="route without auth")
    # Only edge's public "web" route: health is internal, billing has jwt, and the secure
    # target has key-auth on web.
    assert len(found) == 1
    assert 'asset="edge"' in found[0]
    assert 'route_name="web"' in found[0]
    assert 'service_name="web"' in found[0]
    assert 'environment="production"' in found[0]
    body = await scrape(metrics_url)
    disabled = lines(body, "secmon_rule_violation{", "kong_security_plugin_disabled")
    assert len(disabled) == 1
    assert 'plugin_type="cors"' in disabled[0]
    # Two targets, one family each: a name's HELP appears once; samples differ by collector.
    assert body.count("# HELP secmon_kong_entities ") == 1
    assert 'secmon_kong_entities{collector="internal",kind="plugins"} 4.0' in body
    assert 'secmon_kong_entities{collector="edge",kind="plugins"} 3.0' in body

    await edge.control("PATCH", f"entities/plugins/{CORS}", {"enabled": True})
    await edge.control(
        "POST",
        "entities/plugins",
        {"name": "key-auth", "service": {"id": "5b0f0a8e-0000-4000-8000-000000000002"}},
    )

    async def cleared() -> bool:
        body = await scrape(metrics_url)
        return not lines(body, "secmon_rule_violation{", "kong_route_without_auth") and not lines(
            body, "secmon_rule_violation{", "kong_security_plugin_disabled"
        )

    assert await wait_until(cleared, timeout=10, what="violations cleared")


async def test_change_rules_count_plugin_changes(
    two_kongs: tuple[FakeKongServer, FakeKongServer], metrics_url: str
) -> None:
    edge, _ = two_kongs

    async def polled_twice() -> bool:
        body = await scrape(metrics_url)
        return 'secmon_kong_plugin_changes_total{action="created",collector="edge"} 0.0' in body

    assert await wait_until(polled_twice, timeout=10, what="a second poll")
    await edge.control("PATCH", f"entities/plugins/{CORS}", {"config": {"origins": ["*"]}})
    await edge.control("DELETE", f"entities/plugins/{JWT}")

    async def counted() -> list[str]:
        body = await scrape(metrics_url)
        found = lines(body, "secmon_rule_matches_total{", "kong_plugin_security_change") + lines(
            body, "secmon_rule_matches_total{", "kong_security_plugin_removed"
        )
        return found if len(found) >= 3 else []

    found = await wait_until(counted, timeout=10, what="change matches")
    text = "\n".join(found)
    assert 'plugin_type="cors"' in text
    assert 'service_name="web"' in text
    assert 'rule_id="kong_security_plugin_removed"' in text
    assert 'plugin_type="jwt"' in text
    assert all('asset="edge"' in line for line in found)
