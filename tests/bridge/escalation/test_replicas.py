"""Two bridge replicas on one PostgreSQL and Redis, ticking concurrently: each level once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bridge.escalation.runtime import HUB
from bridge.pipeline.worker import WORKER
from tests.bridge.escalation.conftest import Start, notify_config
from tests.bridge.escalation.helpers import ShiftedClock
from tests.bridge.escalation.test_end_to_end import Fakes
from tests.bridge.helpers import make_alert, make_payload, post_payload


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # replicas share it
async def test_two_replicas_fire_each_level_once(
    start_bridge: Start, fakes: Fakes, postgres_url: str, redis_url: str, database_url: str
) -> None:
    slack, slack_url, sink, sink_url = fakes
    clock = ShiftedClock()
    config = notify_config(slack_url, sink_url, redis_url=redis_url)
    async with start_bridge(clock, **config) as one, start_bridge(clock, **config) as two:
        alerts = [make_alert(f"h{i}") for i in range(10)]
        await asyncio.gather(
            post_payload(one, make_payload(*alerts)), post_payload(two, make_payload(*alerts))
        )
        for bridge in (one, two):  # escalation starts once the pipeline has run
            await bridge.app[WORKER].join()
        hubs = [one.app[HUB], two.app[HUB]]
        for delta in (
            timedelta(0),
            timedelta(minutes=15),
            timedelta(minutes=45),
            timedelta(hours=3),
        ):
            clock.advance(delta)
            await asyncio.gather(*(h.scheduler.tick() for h in hubs if h.scheduler))
        for hub in hubs:
            assert hub.dispatcher is not None
            await hub.dispatcher.idle()
    assert len(slack.messages) == 10  # L1 once per alert
    titles = sorted(r.json()["notification"]["display_title"] for r in sink.received("/hook"))
    assert titles == sorted(f"ESCALATED L{n}: title of h{i}" for i in range(10) for n in (2, 3, 4))
