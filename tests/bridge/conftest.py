"""Fixtures for the bridge: a store URL per backend and a running bridge app.

``database_url`` is parametrized over SQLite (a file in ``tmp_path``) and PostgreSQL (the
session database from ``tests/conftest.py``, its tables dropped before each test so every test
also exercises the migrations), so whatever uses it runs against both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from tests.bridge.helpers import BridgeClient, bridge_config, drop_bridge_tables


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridge.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(drop_bridge_tables(url))
    return url


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[BridgeClient]:
    """The bridge app, started (store opened and migrated), behind a real loopback server."""
    async with TestClient(TestServer(create_app(bridge_config(database_url)))) as test_client:
        yield test_client


ClientFactory = Callable[..., contextlib.AbstractAsyncContextManager[BridgeClient]]


@pytest.fixture
def bridge_client(database_url: str) -> ClientFactory:
    """``async with bridge_client(**config_overrides) as client``: a bridge on either backend."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[BridgeClient]:
        app = create_app(bridge_config(database_url, **overrides))
        async with TestClient(TestServer(app)) as test_client:
            yield test_client

    return start
