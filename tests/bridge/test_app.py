"""Application start-up: the optional Redis connection is checked, and owned by the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import StartupError, create_app
from bridge.keys import REDIS
from tests.bridge.helpers import bridge_config
from tests.harness.services import free_port


@pytest.mark.redis
async def test_configured_redis_is_connected_for_the_app_lifetime(
    tmp_path: Path, redis_url: str
) -> None:
    config = bridge_config(f"sqlite:///{tmp_path / 'b.db'}", redis_url=redis_url)
    async with TestClient(TestServer(create_app(config))) as client:
        redis = client.app[REDIS]
        assert redis is not None
        assert await redis.ping()


async def test_without_redis_url_there_is_no_client(tmp_path: Path) -> None:
    config = bridge_config(f"sqlite:///{tmp_path / 'b.db'}")
    async with TestClient(TestServer(create_app(config))) as client:
        assert client.app[REDIS] is None


async def test_unreachable_redis_fails_start_up_without_the_password(tmp_path: Path) -> None:
    url = f"redis://:redis-pass-secret@127.0.0.1:{free_port()}/0"
    server = TestServer(create_app(bridge_config(f"sqlite:///{tmp_path / 'b.db'}", redis_url=url)))
    try:
        with pytest.raises(StartupError) as caught:
            await server.start_server()
    finally:
        await server.close()
    assert "Redis redis://:***@127.0.0.1" in str(caught.value)
    assert "redis-pass-secret" not in str(caught.value)
