"""Fixtures for exporter tests: a real fake-Kong server on a free loopback port, and configs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from exporter.collectors.kong import KongCollector, KongConfig
from exporter.fakes.kong import FAKE_KEY, FakeKong, create_app, scenario
from tests.harness.services import free_port

TOKEN = "kong-admin-token-5f2a9c-do-not-log"


@dataclass
class FakeKongServer:
    """A running fake Kong; ``control`` drives it through its HTTP control API."""

    url: str
    fake: FakeKong

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.url}/__fake__/{path}", json=body) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def use(self, name: str) -> None:
        await self.control("POST", f"scenario/{name}")

    async def fail(self, **spec: Any) -> None:
        await self.control("POST", "fail", spec)


async def start_fake_kong(name: str = "insecure") -> tuple[web.AppRunner, FakeKongServer]:
    app = create_app(scenario(name))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, FakeKongServer(url=f"http://127.0.0.1:{port}", fake=app[FAKE_KEY])


@pytest.fixture
async def fake_kong() -> AsyncIterator[FakeKongServer]:
    runner, server = await start_fake_kong("insecure")
    yield server
    await runner.cleanup()


def kong_config(url: str, **overrides: Any) -> KongConfig:
    fields: dict[str, Any] = {"type": "kong", "name": "edge", "admin_url": url, "timeout": 2.0}
    fields.update(overrides)
    return KongConfig.model_validate(fields)


@pytest.fixture
async def kong_collector(fake_kong: FakeKongServer) -> AsyncIterator[KongCollector]:
    collector = KongCollector(kong_config(fake_kong.url))
    yield collector
    await collector.close()
