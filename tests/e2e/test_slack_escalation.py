"""Slack end to end: a Kong misconfiguration becomes a Slack message; a signed click acks it.

The real chain of ``test_kong_admin_api_alert`` (fake Kong → exporter → Prometheus →
Alertmanager → bridge) with the bridge's ``slack_critical`` channel pointed at the Slack fake
(``python -m bridge.fakes.slack``) through slack-sdk's ``base_url``. The rule's ``channels``
label also names ``email_security_team``, which this bridge does not configure: the router
skips it with a warning and Slack still gets the message.

Then the button, as Slack would post it to ``/api/v1/slack/interactions``: an unsigned click
and a stale one (signed, but six minutes old) are refused with 401 and leave the alert open and
the message untouched; a correctly signed Acknowledge click acknowledges the alert (no longer
open, so the escalation scheduler has nothing left to fire for it) and the message is updated
with ``chat.update``. Replaying that same signed click is refused as well.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bridge.notify.slack import ACK_ACTION
from bridge.notify.slack_interactions import expected_signature
from tests.harness.estate import python_module, start_estate, wait_healthy
from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.wait import wait_until

pytestmark = pytest.mark.e2e

SLACK_TOKEN = "xoxb-e2e-token"
SIGNING_SECRET = "e2e-slack-signing-secret"
CHANNEL_ID = "C0SECCRIT"
RULE_ID = "kong_http_admin_api"


async def _get(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
    async with session.get(url, **kwargs) as response:
        response.raise_for_status()
        return await response.json()


def _click(alert_id: int, message_ts: str) -> bytes:
    """A block_actions interaction as Slack posts it: a form with a JSON ``payload``."""
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ALICE", "username": "alice", "name": "alice"},
        "channel": {"id": CHANNEL_ID, "name": "security-critical"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL_ID},
        "actions": [
            {
                "type": "button",
                "action_id": ACK_ACTION,
                "block_id": f"secmon:{alert_id}",
                "value": str(alert_id),
                "action_ts": str(time.time()),
            }
        ],
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(body: bytes, timestamp: int) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": expected_signature(
            signing_secret=SIGNING_SECRET, timestamp=ts, body=body
        ),
    }


async def test_slack_message_with_buttons_signed_ack_updates_it_bad_clicks_refused(
    launch: Launcher, workdir: Path, prometheus_binary: str, alertmanager_binary: str
) -> None:
    slack_port = free_port()
    slack_url = f"http://127.0.0.1:{slack_port}"
    slack = launch(
        python_module(
            "fake-slack",
            "bridge.fakes.slack",
            workdir,
            "--listen",
            f"127.0.0.1:{slack_port}",
            "--token",
            SLACK_TOKEN,
            "--channel",
            f"security-critical={CHANNEL_ID}",
        )
    )
    async with aiohttp.ClientSession() as session:
        await wait_healthy(session, f"{slack_url}/__fake__/messages", slack)
        estate = await start_estate(
            session,
            launch,
            workdir,
            prometheus_binary=prometheus_binary,
            alertmanager_binary=alertmanager_binary,
            bridge_settings={
                "channels": {
                    "slack_critical": {
                        "type": "slack",
                        "token": SLACK_TOKEN,
                        "channel": "#security-critical",
                        "base_url": f"{slack_url}/api/",
                    }
                },
                "slack": {"signing_secret": SIGNING_SECRET},
                "escalation": {"tick_seconds": 1},
            },
        )
        bridge, bridge_url, auth = estate.bridge, estate.bridge_url, estate.auth
        interactions = f"{bridge_url}/api/v1/slack/interactions"

        async def messages() -> list[dict[str, Any]]:
            return list(await _get(session, f"{slack_url}/__fake__/messages"))

        async def posted() -> dict[str, Any] | None:
            for message in await messages():
                if RULE_ID in json.dumps(message["blocks"]) and message["thread_ts"] is None:
                    return message
            return None

        message = await wait_until(posted, timeout=45, what=f"a Slack message for {RULE_ID}")
        assert message["channel"] == CHANNEL_ID
        buttons = [
            element
            for block in message["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
        ]
        assert [b["text"]["text"] for b in buttons] == ["Acknowledge", "Resolve"]

        body = await _get(session, f"{bridge_url}/api/v1/alerts", headers=auth)
        (alert,) = [a for a in body["alerts"] if a["rule_id"] == RULE_ID]
        assert alert["status"] == "open"
        assert buttons[0]["value"] == str(alert["id"])
        # The label's other channel is not configured here: skipped, not fatal.
        assert "'email_security_team', which is not configured: skipped" in bridge.tail(400)
        async with session.get(f"{bridge_url}/metrics") as response:
            exposition = await response.text()
        skipped = (
            'secmon_bridge_notifications_total{channel="email_security_team",'
            'outcome="not_configured"}'
        )
        assert any(
            line.startswith(skipped) and float(line.split()[-1]) >= 1
            for line in exposition.splitlines()
        ), exposition

        click = _click(alert["id"], message["ts"])
        now = int(time.time())
        refused = {
            "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
            "stale": _signed(click, now - 360),
            "wrong secret": {
                **_signed(click, now),
                "X-Slack-Signature": "v0=" + "0" * 64,
            },
        }
        for what, headers in refused.items():
            async with session.post(interactions, data=click, headers=headers) as response:
                assert response.status == 401, (what, await response.text())

        detail = await _get(session, f"{bridge_url}/api/v1/alerts/{alert['id']}", headers=auth)
        assert detail["status"] == "open"
        assert (await posted() or {}).get("edits") == 0

        signed = _signed(click, int(time.time()))
        started = time.monotonic()
        async with session.post(interactions, data=click, headers=signed) as response:
            assert response.status == 200, await response.text()
            answer = await response.json()
        assert time.monotonic() - started < 3.0  # Slack's limit for the interaction answer
        assert "acknowledged" in answer["text"]

        detail = await _get(session, f"{bridge_url}/api/v1/alerts/{alert['id']}", headers=auth)
        assert detail["status"] == "acknowledged"

        async def updated() -> dict[str, Any] | None:
            current = await posted()
            return current if current and current["edits"] >= 1 else None

        current = await wait_until(updated, timeout=15, what="chat.update of the Slack message")
        requests = await _get(session, f"{slack_url}/__fake__/requests")
        assert any(r["path"] == "/api/chat.update" for r in requests)
        kinds = {e["text"]["text"] for b in current["blocks"] if b["type"] == "actions"
                 for e in b["elements"]}  # fmt: skip
        assert "Acknowledge" not in kinds

        # The very same signed click again is a replay.
        async with session.post(interactions, data=click, headers=signed) as response:
            assert response.status == 401

        # Nothing escalates for an acknowledged alert: a couple of ticks later, no thread reply.
        await asyncio.sleep(2.5)
        assert not [m for m in await messages() if m["thread_ts"] == message["ts"]]
        detail = await _get(session, f"{bridge_url}/api/v1/alerts/{alert['id']}", headers=auth)
        assert detail["status"] == "acknowledged"
