"""Acceptance: webhook → Slack message with buttons → signed click acknowledges, stops
escalation and updates the message; unsigned or stale clicks are 401 and change nothing;
the seed's levels with a controllable clock, across a restart; retries and dead letters."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bridge.escalation.runtime import HUB
from bridge.fakes.slack import FakeSlack
from bridge.fakes.webhook import FakeWebhookSink
from bridge.notify.slack import ACK_ACTION
from bridge.notify.slack_interactions import expected_signature
from tests.bridge.escalation.conftest import SIGNING_SECRET, Start, notify_config
from tests.bridge.escalation.helpers import ShiftedClock
from tests.bridge.helpers import (
    BridgeClient,
    api_call,
    example,
    make_alert,
    make_payload,
    post_payload,
)
from tests.harness.wait import wait_until

Fakes = tuple[FakeSlack, str, FakeWebhookSink, str]


def click(
    alert_id: str, message_ts: str, *, secret: str | None, age: float = 0
) -> tuple[bytes, dict[str, str]]:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice"},
        "actions": [{"action_id": ACK_ACTION, "value": alert_id}],
        "channel": {"id": "C0SECCRIT"},
        "container": {"message_ts": message_ts},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None:
        ts = str(int(time.time() - age))
        headers["X-Slack-Request-Timestamp"] = ts
        headers["X-Slack-Signature"] = expected_signature(
            signing_secret=secret, timestamp=ts, body=body
        )
    return body, headers


async def _status(client: BridgeClient, alert_id: int) -> str:
    _, body = await api_call(client, "GET", f"/api/v1/alerts/{alert_id}")
    return str(body["alert"]["status"] if "alert" in body else body["status"])


async def test_slack_message_ack_click_stops_escalation_and_updates(
    start_bridge: Start, fakes: Fakes
) -> None:
    slack, slack_url, sink, sink_url = fakes
    clock = ShiftedClock()
    async with start_bridge(clock, **notify_config(slack_url, sink_url)) as client:
        payload = example("kong-admin-api-firing")
        payload["alerts"][0]["labels"].pop("escalation")  # let it escalate by time
        status, _ = await post_payload(client, payload)
        assert status == 200
        message = await wait_until(lambda: _first(slack), timeout=10, what="the Slack message")
        actions = next(b for b in message.blocks if b["type"] == "actions")
        labels = [e["text"]["text"] for e in actions["elements"]]
        assert labels == ["Acknowledge", "Resolve"]
        alert_id = actions["elements"][0]["value"]

        for secret, age in ((None, 0), ("wrong-secret", 0), (SIGNING_SECRET, 600)):
            body, headers = click(alert_id, message.ts, secret=secret, age=age)
            async with client.post("/api/v1/slack/interactions", data=body, headers=headers) as r:
                assert r.status == 401
        assert await _status(client, int(alert_id)) == "open"
        assert message.edits == 0

        body, headers = click(alert_id, message.ts, secret=SIGNING_SECRET)
        async with client.post("/api/v1/slack/interactions", data=body, headers=headers) as r:
            assert r.status == 200
        async with client.post("/api/v1/slack/interactions", data=body, headers=headers) as r:
            assert r.status == 401  # the same signed request again is a replay
        assert await _status(client, int(alert_id)) == "acknowledged"
        await wait_until(lambda: _edited(message), timeout=10, what="chat.update")
        assert "ACKNOWLEDGED" in message.text

        clock.advance(timedelta(hours=5))
        hub = client.app[HUB]
        assert hub.scheduler is not None
        assert hub.dispatcher is not None
        assert await hub.scheduler.tick() == []  # acknowledged: no L2, L3, L4
        await hub.dispatcher.idle()
        assert sink.received() == []
        _, log = await api_call(client, "GET", f"/api/v1/alerts/{alert_id}/notifications")
        assert [a["operation"] for a in log["attempts"]] == ["chat.postMessage", "chat.update"]


async def _first(slack: FakeSlack) -> Any:
    return next(iter(slack.messages.values()), None)


async def _edited(message: Any) -> bool:
    return bool(message.edits)


async def test_levels_fire_at_seed_delays_once_across_a_restart(
    start_bridge: Start, fakes: Fakes
) -> None:
    slack, slack_url, sink, sink_url = fakes
    clock = ShiftedClock()
    config = notify_config(slack_url, sink_url)
    async with start_bridge(clock, **config) as client:
        await post_payload(client, make_payload(make_alert("e1")))
        await wait_until(lambda: _first(slack), timeout=10, what="L1")
        hub = client.app[HUB]
        assert hub.scheduler is not None
        assert hub.dispatcher is not None
        clock.advance(timedelta(minutes=15))
        assert [c.level for c in await hub.scheduler.tick()] == [2]
        await hub.dispatcher.idle()
    clock.advance(timedelta(minutes=45))  # L3 falls due while no bridge runs
    async with start_bridge(clock, **config) as client:
        hub = client.app[HUB]
        assert hub.scheduler is not None
        assert hub.dispatcher is not None
        await hub.scheduler.tick()
        await hub.dispatcher.idle()
        clock.advance(timedelta(hours=3))
        await hub.scheduler.tick()
        await hub.scheduler.tick()
        await hub.dispatcher.idle()
    texts = [r.json()["notification"]["display_title"] for r in sink.received("/hook")]
    assert texts == [f"ESCALATED L{n}: title of e1" for n in (2, 3, 4)]
    assert len(slack.messages) == 1


async def test_retry_after_and_5xx_retried_permanent_4xx_dead_lettered_and_replayed(
    start_bridge: Start, fakes: Fakes
) -> None:
    slack, slack_url, sink, sink_url = fakes
    clock = ShiftedClock()
    config = notify_config(slack_url, sink_url)
    config["escalation"]["recipients"]["security_team"] = ["slack_critical", "webhook_oncall"]
    slack.fail("/api/chat.postMessage", status=429, retry_after=1)
    sink.fail("/hook", status=503)
    async with start_bridge(clock, **config) as client:
        await post_payload(client, make_payload(make_alert("r1")))
        await wait_until(lambda: _first(slack), timeout=10, what="Slack after a 429")
        await wait_until(lambda: _ok(sink), timeout=10, what="webhook after a 503")
        sink.fail("/hook", status=400)
        await post_payload(client, make_payload(make_alert("r2")))
        _, letters = await wait_until(lambda: _letters(client), timeout=10, what="a dead letter")
        letter = letters["dead_letters"][0]
        assert letter["channel"] == "webhook_oncall"
        assert letter["status"] == 400
        status, _ = await api_call(client, "POST", f"/api/v1/dead-letters/{letter['id']}/replay")
        assert status == 202
        hub = client.app[HUB]
        assert hub.dispatcher is not None
        await hub.dispatcher.idle()
        _, after = await api_call(client, "GET", "/api/v1/dead-letters")
        assert after["dead_letters"] == []
        status, _ = await api_call(client, "POST", f"/api/v1/dead-letters/{letter['id']}/replay")
        assert status == 404
    assert len(sink.received("/hook")) == 4  # 503, ok, 400, replayed ok


async def _ok(sink: FakeWebhookSink) -> bool:
    return len(sink.received("/hook")) >= 2


async def _letters(client: BridgeClient) -> tuple[int, dict[str, Any]] | None:
    status, body = await api_call(client, "GET", "/api/v1/dead-letters")
    return (status, body) if body["dead_letters"] else None
