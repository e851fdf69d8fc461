"""Slack clicks with two replicas behind one Slack app: a replay is refused by the other one
too (the replay memory is in Redis), and acknowledging from Slack records time-to-acknowledge."""

from __future__ import annotations

import pytest

from bridge.keys import METRICS
from tests.bridge.escalation.conftest import SIGNING_SECRET, Start, notify_config
from tests.bridge.escalation.helpers import ShiftedClock
from tests.bridge.escalation.test_end_to_end import Fakes, _first, click
from tests.bridge.helpers import example, post_payload
from tests.harness.wait import wait_until


@pytest.mark.redis
async def test_click_replayed_to_another_replica_is_refused_and_ack_is_measured(
    start_bridge: Start, fakes: Fakes, redis_url: str
) -> None:
    slack, slack_url, _sink, sink_url = fakes
    clock = ShiftedClock()
    config = notify_config(slack_url, sink_url, redis_url=redis_url)
    async with start_bridge(clock, **config) as one, start_bridge(clock, **config) as two:
        status, _ = await post_payload(one, example("kong-admin-api-firing"))
        assert status == 200
        message = await wait_until(lambda: _first(slack), timeout=10, what="the Slack message")
        actions = next(b for b in message.blocks if b["type"] == "actions")
        alert_id = actions["elements"][0]["value"]

        body, headers = click(alert_id, message.ts, secret=SIGNING_SECRET)
        async with one.post("/api/v1/slack/interactions", data=body, headers=headers) as r:
            assert r.status == 200, await r.text()
        async with two.post("/api/v1/slack/interactions", data=body, headers=headers) as r:
            assert r.status == 401
            assert "replayed" in await r.text()

        registry = one.app[METRICS].registry
        count = registry.get_sample_value(
            "secmon_bridge_time_to_acknowledge_seconds_count", {"severity": "critical"}
        )
        assert count == 1
