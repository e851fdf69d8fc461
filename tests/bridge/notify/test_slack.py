"""Slack notifier: slack-sdk's AsyncWebClient against the fake Slack Web API."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from bridge.fakes.slack import FakeSlack
from bridge.notify.base import MessageRef, Outcome
from bridge.notify.delivery import (
    Deliverer,
    InMemoryDeadLetters,
    InMemoryDeliveryLog,
    NotificationMetrics,
)
from bridge.notify.slack import ACK_ACTION, RESOLVE_ACTION, SlackConfig, SlackNotifier
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import (
    FakeTime,
    assert_no_secret_leak,
    delivery_texts,
    sample_notification,
)

TOKEN = "xoxb-1111-2222-secrettoken"


async def _slack(
    serve: Serve,
    session: aiohttp.ClientSession,
    *,
    token: str = TOKEN,
    channel: str = "#security-critical",
) -> tuple[FakeSlack, SlackNotifier]:
    fake = FakeSlack(token=TOKEN)
    url = await serve(fake)
    config = SlackConfig(token=token, channel=channel, base_url=f"{url}/api/")
    return fake, SlackNotifier(name="slack_critical", config=config, session=session)


def _actions(blocks: list[dict[str, object]]) -> list[object]:
    [actions] = [b for b in blocks if b["type"] == "actions"]
    elements = actions["elements"]
    assert isinstance(elements, list)
    return [(e["action_id"], e["value"]) for e in elements]


def test_blocks_show_severity_fields_remediation_links_and_buttons() -> None:
    config = SlackConfig(token=TOKEN, channel="#security-critical")
    notifier = SlackNotifier(name="slack_critical", config=config)
    payload = notifier.build_payload(sample_notification())

    assert payload.operation == "chat.postMessage"
    assert payload.body["channel"] == "#security-critical"
    blocks = payload.body["blocks"]
    assert blocks[0]["type"] == "header"
    assert "[CRITICAL] Kong admin API exposed" in blocks[0]["text"]["text"]
    text = str(blocks)
    for expected in ("kong-prod", "KONG-001", "exposure", "Bind the admin API", "runbooks.example"):
        assert expected in text
    assert _actions(blocks) == [(ACK_ACTION, "a-42"), (RESOLVE_ACTION, "a-42")]
    assert TOKEN not in payload.to_json()


async def test_post_then_update_then_escalation_thread_reply(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake, notifier = await _slack(serve, session)

    first = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert first.outcome is Outcome.OK
    assert first.ref is not None
    ref = first.ref
    assert ref.conversation == "C0SECCRIT"

    escalated = sample_notification(state="escalated", level=2, previous=ref)
    reply = await notifier.send(payload=notifier.build_payload(escalated))
    assert reply.outcome is Outcome.OK
    assert reply.ref is not None
    assert reply.ref.id == ref.id  # updates keep addressing the root message
    [threaded] = fake.thread("C0SECCRIT", ref.id)
    assert threaded.text == "[CRITICAL] ESCALATED L2: Kong admin API exposed"

    acked = sample_notification(state="acknowledged", previous=ref)
    update = await notifier.send(payload=notifier.build_payload(acked))
    assert update.outcome is Outcome.OK
    root = fake.messages[("C0SECCRIT", ref.id)]
    assert root.edits == 1
    assert root.text.endswith("ACKNOWLEDGED: Kong admin API exposed")
    assert _actions(root.blocks) == [(RESOLVE_ACTION, "a-42")]  # only Resolve is left

    resolved = sample_notification(state="resolved", previous=ref)
    await notifier.send(payload=notifier.build_payload(resolved))
    assert not [b for b in fake.messages[("C0SECCRIT", ref.id)].blocks if b["type"] == "actions"]

    assert [r.path for r in fake.requests] == [
        "/api/chat.postMessage",
        "/api/chat.postMessage",
        "/api/chat.update",
        "/api/chat.update",
    ]
    assert fake.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert_no_secret_leak(TOKEN, caplog)


async def test_429_with_retry_after_then_success_through_the_policy(
    serve: Serve,
    session: aiohttp.ClientSession,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, notifier = await _slack(serve, session)
    fake.fail("/api/chat.postMessage", status=429, retry_after=30)
    deliverer = Deliverer(
        notifiers={"slack_critical": notifier},
        log=InMemoryDeliveryLog(),
        dead_letters=InMemoryDeadLetters(),
        metrics=NotificationMetrics(registry=CollectorRegistry()),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )

    result = await deliverer.deliver(channel="slack_critical", notification=sample_notification())

    assert result.outcome is Outcome.OK
    assert fake_time.sleeps == [30.0]
    assert len(fake.messages) == 1
    [limited, _ok] = await deliverer.log.attempts()
    assert (limited.status, limited.error) == (429, "slack: ratelimited")
    assert_no_secret_leak(
        TOKEN, caplog, texts=await delivery_texts(deliverer.log, deliverer.dead_letters)
    )


async def test_5xx_is_retryable(serve: Serve, session: aiohttp.ClientSession) -> None:
    fake, notifier = await _slack(serve, session)
    fake.fail("/api/chat.*", status=503)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.status) == (Outcome.RETRYABLE, 503)


@pytest.mark.parametrize(
    ("channel", "token", "error"),
    [
        ("#no-such-channel", TOKEN, "slack: channel_not_found"),
        ("#security-critical", "xoxb-wrong-token-0000", "slack: invalid_auth"),
    ],
)
async def test_ok_false_errors_are_permanent_and_leak_nothing(
    serve: Serve,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    token: str,
    error: str,
) -> None:
    _fake, notifier = await _slack(serve, session, token=token, channel=channel)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.error) == (Outcome.PERMANENT, error)
    assert_no_secret_leak(token, caplog, texts=[result.error])


async def test_update_of_an_unknown_message_is_permanent(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    _fake, notifier = await _slack(serve, session)
    gone = MessageRef("slack_critical", "1.000001", "C0SECCRIT")
    payload = notifier.build_payload(sample_notification(state="resolved", previous=gone))
    result = await notifier.send(payload=payload)
    assert (result.outcome, result.error) == (Outcome.PERMANENT, "slack: message_not_found")
