"""Webhook notifier: signed JSON to the configured URL, verified by the sink."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from bridge.fakes.webhook import FakeWebhookSink
from bridge.notify.base import Outcome
from bridge.notify.webhook import WebhookConfig, WebhookNotifier, sign, verify_signature
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification

SECRET = "whsec-0123456789abcdef"


def test_build_payload_is_pure_and_carries_no_secret() -> None:
    config = WebhookConfig(url="https://hooks.example/secmon", secret=SECRET)
    notifier = WebhookNotifier(name="webhook_soc", config=config, session=None)  # type: ignore[arg-type]
    payload = notifier.build_payload(sample_notification(state="escalated", level=2))

    assert payload == notifier.build_payload(sample_notification(state="escalated", level=2))
    body = payload.body["notification"]
    assert body["display_title"] == "ESCALATED L2: Kong admin API exposed"
    assert body["dedup_key"] == "secmon-fp0123456789"
    assert SECRET not in payload.to_json()
    assert "hooks.example" not in payload.to_json()  # the destination comes from config only


def test_signature_round_trip_and_rejections() -> None:
    body = b'{"a":1}'
    header = sign(secret=SECRET, timestamp=1_700_000_000, body=body)
    assert header.startswith("sha256=")
    ok = {"secret": SECRET, "timestamp": "1700000000", "signature": header, "body": body}
    assert verify_signature(**ok, now=1_700_000_100)  # type: ignore[arg-type]
    assert not verify_signature(**ok, now=1_700_000_301)  # type: ignore[arg-type]
    assert not verify_signature(**{**ok, "body": b'{"a":2}'}, now=1_700_000_000)  # type: ignore[arg-type]
    assert not verify_signature(**{**ok, "timestamp": "x"}, now=1_700_000_000)  # type: ignore[arg-type]


async def test_sink_verifies_the_hmac(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FakeWebhookSink(secret=SECRET)
    url = await serve(sink)
    config = WebhookConfig(url=f"{url}/secmon", secret=SECRET, headers={"X-Team": "soc"})
    notifier = WebhookNotifier(name="webhook_soc", config=config, session=session)

    result = await notifier.send(payload=notifier.build_payload(sample_notification()))

    assert result.outcome is Outcome.OK
    [received] = sink.received("/secmon")
    assert received.headers["X-Team"] == "soc"
    assert json.loads(sink.verified[0])["notification"]["alert_id"] == "a-42"
    assert_no_secret_leak(SECRET, caplog)


async def test_wrong_secret_is_permanent_and_leaks_nothing(
    serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FakeWebhookSink(secret="the-receivers-secret")
    url = await serve(sink)
    config = WebhookConfig(url=f"{url}/secmon?token=url-secret-1234", secret=SECRET)
    notifier = WebhookNotifier(name="webhook_soc", config=config, session=session)

    result = await notifier.send(payload=notifier.build_payload(sample_notification()))

    assert (result.outcome, result.status) == (Outcome.PERMANENT, 401)
    assert_no_secret_leak(SECRET, caplog, texts=[result.error])
    assert_no_secret_leak("url-secret-1234", caplog, texts=[result.error])


async def test_unreachable_is_retryable_without_the_url(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.harness.services import free_port

    url = f"http://127.0.0.1:{free_port()}/hook?key=url-secret-5678"
    notifier = WebhookNotifier(
        name="w",
        config=WebhookConfig(url=url),
        session=session,
    )
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))

    assert result.outcome is Outcome.RETRYABLE
    assert_no_secret_leak("url-secret-5678", caplog, texts=[result.error])


def test_config_reads_files_and_never_echoes_values(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://hooks.example/T000/B000/XXXX\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    config = WebhookConfig(url_file=tmp_path / "url", secret_file=tmp_path / "secret")
    assert config.url is not None
    assert config.url.get_secret_value().endswith("XXXX")
    assert config.secret is not None
    assert config.secret.get_secret_value() == SECRET

    with pytest.raises(ValidationError) as info:
        WebhookConfig(url="not a url with-secret-9999")
    assert "with-secret-9999" not in str(info.value)
