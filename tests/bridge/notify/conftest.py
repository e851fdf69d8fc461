"""Fixtures for notifier tests: a client session, fakes served on loopback, fake time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bridge.fakes.base import FakeService
from tests.bridge.notify.helpers import FakeTime

Serve = Callable[[FakeService], Awaitable[str]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a fake on a real loopback port; returns its base URL (no trailing slash)."""
    servers: list[TestServer] = []

    async def start(fake: FakeService) -> str:
        server = TestServer(fake.make_app(), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Capture everything, libraries' DEBUG request logs included, for the secret-leak checks.
    caplog.set_level(logging.DEBUG)
