"""Twilio SMS and voice notifiers against the fake Messages and Calls resources."""

from __future__ import annotations

import aiohttp
import pytest

from bridge.fakes.twilio import FakeTwilio
from bridge.notify.base import Outcome
from bridge.notify.twilio import (
    TwilioCallNotifier,
    TwilioConfig,
    TwilioSmsNotifier,
    call_twiml,
    sms_text,
)
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification

SID = "AC00000000000000000000000000000000"
TOKEN = "twilio-auth-token-0000"


async def _config(
    serve: Serve, fake: FakeTwilio, kind: str, *, token: str = TOKEN, to: str = "+15550001111"
) -> TwilioConfig:
    url = await serve(fake)
    return TwilioConfig(
        type=kind,
        account_sid=SID,
        auth_token=token,
        from_number="+15559990000",
        to=to,
        api_url=url,
    )


def test_texts_follow_the_seed_wording() -> None:
    escalated = sample_notification(state="escalated", level=3)
    assert sms_text(escalated).startswith("[CRITICAL] ESCALATED L3: Kong admin API exposed")
    twiml = call_twiml(sample_notification(), voice="alice", repeat=2)
    assert twiml.endswith(
        '<Response><Say voice="alice" loop="2">Secmon security alert. Severity critical. '
        "Kong admin API exposed. Asset kong-prod.</Say></Response>"
    )


async def test_sms_and_call(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTwilio()
    sms = TwilioSmsNotifier(
        name="sms_oncall", config=await _config(serve, fake, "twilio_sms"), session=session
    )
    call = TwilioCallNotifier(
        name="phone_oncall", config=await _config(serve, fake, "twilio_call"), session=session
    )

    sent = await sms.send(payload=sms.build_payload(sample_notification()))
    rang = await call.send(payload=call.build_payload(sample_notification()))

    assert (sent.outcome, sent.status) == (Outcome.OK, 201)
    assert sent.ref is not None
    assert sent.ref.id.startswith("SM")
    assert rang.ref is not None
    assert rang.ref.id.startswith("CA")
    [message] = fake.messages
    assert (message["To"], message["From"]) == ("+15550001111", "+15559990000")
    assert "Kong admin API exposed" in message["Body"]
    assert "<Say" in fake.calls[0]["Twiml"]
    assert_no_secret_leak(TOKEN, caplog)


async def test_bad_credentials_and_bad_number_are_permanent(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTwilio()
    wrong = "wrong-twilio-token-9999"
    bad_auth = TwilioSmsNotifier(
        name="sms", config=await _config(serve, fake, "twilio_sms", token=wrong), session=session
    )
    bad_to = TwilioSmsNotifier(
        name="sms", config=await _config(serve, fake, "twilio_sms", to="0800"), session=session
    )

    refused = await bad_auth.send(payload=bad_auth.build_payload(sample_notification()))
    invalid = await bad_to.send(payload=bad_to.build_payload(sample_notification()))

    assert (refused.outcome, refused.status) == (Outcome.PERMANENT, 401)
    assert "twilio 20003" in refused.error
    assert (invalid.outcome, invalid.status) == (Outcome.PERMANENT, 400)
    assert "twilio 21211" in invalid.error
    assert_no_secret_leak(wrong, caplog, texts=[refused.error, invalid.error])


async def test_throttled_is_retryable(serve: Serve, session: aiohttp.ClientSession) -> None:
    fake = FakeTwilio()
    sms = TwilioSmsNotifier(
        name="sms", config=await _config(serve, fake, "twilio_sms"), session=session
    )
    fake.fail("*/Messages.json", status=429, retry_after=4)
    result = await sms.send(payload=sms.build_payload(sample_notification()))
    assert (result.outcome, result.retry_after, result.error) == (
        Outcome.RETRYABLE,
        4.0,
        "HTTP 429: twilio 20429: scripted failure",
    )
