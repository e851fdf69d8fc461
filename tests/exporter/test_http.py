"""The exporter's HTTP endpoints, served for real on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as om_exposition

from exporter.collectors.kong import KongCollector
from exporter.exposition import Exposition, Format
from exporter.http import create_app
from exporter.runtime import Runtime, Scheduled
from tests.exporter.conftest import FakeKongServer, kong_config
from tests.harness.services import free_port
from tests.harness.wait import wait_until


@dataclass
class Exporter:
    url: str
    runtime: Runtime
    registry: CollectorRegistry
    exposition: Exposition

    async def get(self, path: str, **headers: str) -> tuple[int, str, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + path, headers=headers) as response,
        ):
            return response.status, response.headers["Content-Type"], await response.text()


@pytest.fixture
async def exporter(fake_kong: FakeKongServer) -> AsyncIterator[Exporter]:
    # The first answer is slow, so the test can see /-/ready before any poll has finished.
    await fake_kong.fail(mode="slow", delay=1.0)
    config = kong_config(fake_kong.url, interval=0.3, timeout=5)
    registry = CollectorRegistry()
    exposition = Exposition()
    runtime = Runtime(
        [Scheduled(KongCollector(config), "kong", timeout=5)],
        registry=registry,
        start_jitter=0,
        after_poll=exposition.refresh,
    )
    exposition.add(*runtime.exposition_parts())
    app = create_app(runtime=runtime, registry=registry, exposition=exposition)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Exporter(f"http://127.0.0.1:{port}", runtime, registry, exposition)
    await runner.cleanup()


async def test_ready_goes_from_503_to_200(exporter: Exporter) -> None:
    status, _, body = await exporter.get("/-/ready")
    assert status == 503
    assert "edge" in body

    async def ready() -> bool:
        return (await exporter.get("/-/ready"))[0] == 200

    await wait_until(ready, timeout=10, interval=0.1, what="/-/ready to answer 200")


async def test_healthy_while_running(exporter: Exporter) -> None:
    assert (await exporter.get("/-/healthy"))[0] == 200


async def test_metrics_serves_self_metrics_and_snapshot(exporter: Exporter) -> None:
    async def polled() -> str | None:
        _, _, body = await exporter.get("/metrics")
        return body if 'secmon_collector_up{collector="edge",type="kong"} 1.0' in body else None

    body = await wait_until(polled, timeout=10, interval=0.1, what="a successful poll")
    for line in (
        "# TYPE secmon_collector_duration_seconds gauge",
        "# TYPE secmon_collector_last_success_timestamp_seconds gauge",
        'secmon_collector_stale{collector="edge",type="kong"} 0.0',
        'secmon_collector_errors_total{collector="edge",reason="timeout",type="kong"} 0.0',
        "# TYPE secmon_kong_node_info gauge",
        'secmon_kong_listeners{collector="edge",exposure="network",listener="admin_listen",'
        'protocol="http"} 1.0',
    ):
        assert line in body


async def test_metrics_content_negotiation(exporter: Exporter) -> None:
    status, content_type, body = await exporter.get("/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    _, content_type, body = await exporter.get(
        "/metrics", Accept="application/openmetrics-text; version=1.0.0"
    )
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


async def test_pre_rendered_metrics_equal_prometheus_client(exporter: Exporter) -> None:
    async def polled() -> bool:
        return exporter.runtime.states[0].snapshot is not None

    await wait_until(polled, timeout=10, interval=0.1, what="a successful poll")
    # No await between the two renders: no poll can change the data in between.
    assert exporter.exposition.render(Format.TEXT) == generate_latest(exporter.registry)
    openmetrics: bytes = om_exposition.generate_latest(exporter.registry)  # type: ignore[no-untyped-call]
    assert exporter.exposition.render(Format.OPENMETRICS) == openmetrics


async def test_index_lists_collectors(exporter: Exporter) -> None:
    status, content_type, body = await exporter.get("/")
    assert status == 200
    assert content_type.startswith("text/html")
    assert "edge (kong)" in body
    assert 'href="metrics"' in body
