"""PagerDuty Events v2 notifier against the fake: one incident per alert, kept in sync."""

from __future__ import annotations

import aiohttp
import pytest

from bridge.fakes.pagerduty import FakePagerDuty
from bridge.notify.base import Outcome
from bridge.notify.pagerduty import PagerDutyConfig, PagerDutyNotifier
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification

KEY = "R0UTINGKEY0000000000000000000000"


async def _pagerduty(
    serve: Serve, session: aiohttp.ClientSession, key: str = KEY
) -> tuple[FakePagerDuty, PagerDutyNotifier]:
    fake = FakePagerDuty()
    url = await serve(fake)
    config = PagerDutyConfig(routing_key=key, url=f"{url}/v2/enqueue")
    return fake, PagerDutyNotifier(name="pagerduty_oncall", config=config, session=session)


def test_payload_maps_state_to_event_action_and_keeps_the_dedup_key() -> None:
    notifier = PagerDutyNotifier(
        name="pd",
        config=PagerDutyConfig(routing_key=KEY),
        session=None,  # type: ignore[arg-type]
    )
    trigger = notifier.build_payload(sample_notification())
    assert trigger.body["event_action"] == "trigger"
    assert trigger.body["dedup_key"] == "secmon-fp0123456789"
    assert trigger.body["payload"]["severity"] == "critical"
    assert trigger.body["payload"]["source"] == "kong-prod"
    assert trigger.body["links"] == [
        {"href": "https://runbooks.example/kong-001", "text": "Runbook"}
    ]
    ack = notifier.build_payload(sample_notification(state="acknowledged"))
    assert ack.body == {"event_action": "acknowledge", "dedup_key": "secmon-fp0123456789"}
    assert KEY not in trigger.to_json()


async def test_trigger_acknowledge_resolve_share_one_dedup_key(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake, notifier = await _pagerduty(serve, session)

    triggered = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert triggered.outcome is Outcome.OK
    assert triggered.ref is not None
    assert fake.incidents == {"secmon-fp0123456789": "triggered"}

    for state, expected in (("acknowledged", "acknowledged"), ("resolved", "resolved")):
        n = sample_notification(state=state, previous=triggered.ref)  # type: ignore[arg-type]
        result = await notifier.send(payload=notifier.build_payload(n))
        assert (result.outcome, result.status) == (Outcome.OK, 202)
        assert fake.incidents["secmon-fp0123456789"] == expected

    assert [e["event_action"] for e in fake.events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in fake.events} == {"secmon-fp0123456789"}
    assert all(e["routing_key"] == KEY for e in fake.events)
    assert_no_secret_leak(KEY, caplog)


async def test_invalid_routing_key_is_permanent_and_leaks_nothing(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "WR0NGKEY000000000000000000000000"
    _fake, notifier = await _pagerduty(serve, session, key=wrong)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.status) == (Outcome.PERMANENT, 400)
    assert "Invalid routing key" in result.error
    assert_no_secret_leak(wrong, caplog, texts=[result.error])


async def test_throttling_and_outages_are_retryable(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    fake, notifier = await _pagerduty(serve, session)
    fake.fail("/v2/enqueue", status=429, retry_after=2)
    fake.fail("/v2/enqueue", status=500)
    payload = notifier.build_payload(sample_notification())
    limited = await notifier.send(payload=payload)
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRYABLE, 2.0)
    assert (await notifier.send(payload=payload)).outcome is Outcome.RETRYABLE
    assert (await notifier.send(payload=payload)).outcome is Outcome.OK
