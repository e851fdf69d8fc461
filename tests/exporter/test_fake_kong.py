"""The fake Kong Admin API itself: documented shapes and its control API."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from exporter.fakes.kong import main
from tests.exporter.conftest import FakeKongServer


async def get(url: str, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_root_and_status_shapes(fake_kong: FakeKongServer) -> None:
    status, root = await get(fake_kong.url + "/")
    assert status == 200
    assert {"version", "hostname", "node_id", "configuration", "plugins"} <= set(root)
    assert root["configuration"]["admin_listen"] == ["0.0.0.0:8001 reuseport backlog=16384"]
    status, node_status = await get(fake_kong.url + "/status")
    assert status == 200
    assert node_status["database"] == {"reachable": True}
    assert "connections_active" in node_status["server"]


async def test_control_api_changes_state_and_scenarios(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("PUT", "config", {"admin_listen": ["off"], "version": "3.7.0"})
    _, root = await get(fake_kong.url + "/")
    assert (root["version"], root["configuration"]["admin_listen"]) == ("3.7.0", ["off"])
    await fake_kong.use("secure")
    state = await fake_kong.control("GET", "config")
    assert "10.0.0.10:8444 http2 ssl reuseport" in state["admin_listen"]
    with pytest.raises(aiohttp.ClientResponseError):
        await fake_kong.control("PUT", "config", {"bogus": 1})
    with pytest.raises(aiohttp.ClientResponseError):
        await fake_kong.use("nonexistent")


async def test_scripted_failures_are_consumed_in_order(fake_kong: FakeKongServer) -> None:
    await fake_kong.fail(status=429, retry_after=3)
    await fake_kong.fail(status=500, count=2)
    await fake_kong.fail(status=418)
    await fake_kong.control("DELETE", "fail")
    await fake_kong.fail(status=429, retry_after=3)
    await fake_kong.fail(status=500)
    async with aiohttp.ClientSession() as session:
        async with session.get(fake_kong.url + "/") as response:
            assert (response.status, response.headers["Retry-After"]) == (429, "3")
        async with session.get(fake_kong.url + "/") as response:
            assert response.status == 500
        async with session.get(fake_kong.url + "/") as response:
            assert response.status == 200


async def test_token_enforced_when_set(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("PUT", "config", {"token": "t0k"})
    assert (await get(fake_kong.url + "/"))[0] == 401
    assert (await get(fake_kong.url + "/", **{"Kong-Admin-Token": "t0k"}))[0] == 200
    requests = await fake_kong.control("GET", "requests")
    assert [r["token_ok"] for r in requests] == [False, True]


def test_standalone_fake_refuses_non_loopback() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--listen", "0.0.0.0:18001"])
    assert caught.value.code == 2
