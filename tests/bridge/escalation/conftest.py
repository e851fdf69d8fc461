"""A bridge wired to the Slack fake and a webhook sink, with a settable clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from bridge.escalation.runtime import HUB
from bridge.fakes.slack import FakeSlack
from bridge.fakes.webhook import FakeWebhookSink
from bridge.notify.delivery import RetryPolicy
from tests.bridge.escalation.helpers import Clock, ShiftedClock
from tests.bridge.helpers import BridgeClient, bridge_config

SIGNING_SECRET = "slack-signing-secret-0b1c"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, str, FakeWebhookSink, str]]:
    slack, sink = FakeSlack(), FakeWebhookSink()
    servers = [TestServer(slack.make_app()), TestServer(sink.make_app())]
    for server in servers:
        await server.start_server()
    urls = [str(server.make_url("")).rstrip("/") for server in servers]
    yield slack, urls[0], sink, urls[1]
    for server in servers:
        await server.close()


def notify_config(slack_url: str, sink_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "channels": {
            "slack_critical": {
                "type": "slack",
                "token": FakeSlack.token,
                "channel": "#security-critical",
                "base_url": f"{slack_url}/api/",
            },
            "webhook_oncall": {"type": "webhook", "url": f"{sink_url}/hook"},
        },
        "escalation": {
            "tick_seconds": 3600,  # tests tick by hand; new alerts still kick the scheduler
            "recipients": {
                "security_team": ["slack_critical"],
                "security_lead": ["webhook_oncall"],
                "ciso": ["webhook_oncall"],
                "executive_team": ["webhook_oncall"],
            },
        },
        "slack": {"signing_secret": SIGNING_SECRET},
        **extra,
    }


Start = Callable[..., contextlib.AbstractAsyncContextManager[BridgeClient]]


@pytest.fixture
def start_bridge(database_url: str) -> Start:
    """``async with start_bridge(clock, **config) as client``; sleeps are skipped."""

    @contextlib.asynccontextmanager
    async def start(
        clock: Clock | ShiftedClock, url: str | None = None, **config: Any
    ) -> AsyncIterator[BridgeClient]:
        app = create_app(bridge_config(url or database_url, **config))
        hub = app[HUB]
        hub.now = clock
        hub.retry = RetryPolicy(max_attempts=4, attempt_timeout_seconds=5)

        async def no_sleep(_seconds: float) -> None:
            return None

        hub.sleep = no_sleep
        async with TestClient(TestServer(app)) as client:
            yield client

    return start
