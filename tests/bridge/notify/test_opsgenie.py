"""Opsgenie notifier against the fake: create with alias, acknowledge and close by alias."""

from __future__ import annotations

import aiohttp
import pytest

from bridge.fakes.opsgenie import FakeOpsgenie
from bridge.notify.base import Outcome
from bridge.notify.opsgenie import OpsgenieConfig, OpsgenieNotifier
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification

KEY = "0pS-g3n1e-test-key"


async def _opsgenie(
    serve: Serve, session: aiohttp.ClientSession, key: str = KEY
) -> tuple[FakeOpsgenie, OpsgenieNotifier]:
    fake = FakeOpsgenie(api_key=KEY)
    url = await serve(fake)
    config = OpsgenieConfig(
        api_key=key, api_url=url, responders=[{"type": "team", "name": "Security"}]
    )
    return fake, OpsgenieNotifier(name="opsgenie_security", config=config, session=session)


async def test_create_escalate_acknowledge_close_by_alias(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake, notifier = await _opsgenie(serve, session)

    created = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (created.outcome, created.status) == (Outcome.OK, 202)
    assert created.ref is not None
    assert created.ref.id == "secmon-fp0123456789"
    alert = fake.alerts["secmon-fp0123456789"]
    assert (alert.priority, alert.message) == ("P1", "Kong admin API exposed")
    assert alert.body["responders"] == [{"type": "team", "name": "Security"}]

    escalated = sample_notification(state="escalated", level=2, previous=created.ref)
    await notifier.send(payload=notifier.build_payload(escalated))
    assert len(fake.alerts) == 1
    assert alert.count == 2

    acked = sample_notification(state="acknowledged", previous=created.ref)
    assert (await notifier.send(payload=notifier.build_payload(acked))).outcome is Outcome.OK
    assert alert.acknowledged
    closed = sample_notification(state="resolved", previous=created.ref)
    assert (await notifier.send(payload=notifier.build_payload(closed))).outcome is Outcome.OK
    assert alert.status == "closed"

    paths = [(r.path, r.query.get("identifierType")) for r in fake.requests]
    assert paths == [
        ("/v2/alerts", None),
        ("/v2/alerts", None),
        ("/v2/alerts/secmon-fp0123456789/acknowledge", "alias"),
        ("/v2/alerts/secmon-fp0123456789/close", "alias"),
    ]
    assert fake.requests[0].headers["Authorization"] == f"GenieKey {KEY}"
    assert_no_secret_leak(KEY, caplog)


async def test_wrong_key_is_permanent_and_leaks_nothing(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-genie-key-1234"
    _fake, notifier = await _opsgenie(serve, session, key=wrong)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.status) == (Outcome.PERMANENT, 401)
    assert_no_secret_leak(wrong, caplog, texts=[result.error])


async def test_rate_limit_is_retryable(serve: Serve, session: aiohttp.ClientSession) -> None:
    fake, notifier = await _opsgenie(serve, session)
    fake.fail("/v2/alerts*", status=429, retry_after=1)
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.retry_after) == (Outcome.RETRYABLE, 1.0)
