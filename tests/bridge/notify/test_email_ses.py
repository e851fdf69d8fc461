"""SES notifier against a real moto server process (boto3 in a worker thread)."""

from __future__ import annotations

import email
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bridge.notify.base import Outcome
from bridge.notify.email_ses import SesConfig, SesNotifier
from tests.bridge.notify.helpers import assert_no_secret_leak, sample_notification
from tests.harness.services import free_port, service_missing, tcp_open
from tests.harness.wait import wait_until_sync

SECRET_KEY = "ses-secret-access-key-0000"
SENDER = "secmon@example.com"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        service_missing("moto_server (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_sync(lambda: tcp_open("127.0.0.1", port), timeout=30, what="moto_server")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _ses(moto_url: str) -> Any:
    return boto3.session.Session().client(
        "ses",
        region_name="eu-west-1",
        endpoint_url=moto_url,
        aws_access_key_id="AKIDSECMONTEST",
        aws_secret_access_key=SECRET_KEY,
    )


def _notifier(moto_url: str, sender: str = SENDER) -> SesNotifier:
    config = SesConfig(
        region="eu-west-1",
        endpoint_url=moto_url,
        access_key_id="AKIDSECMONTEST",
        secret_access_key=SECRET_KEY,
        from_address=sender,
        to=["ciso@example.com"],
    )
    return SesNotifier(name="email_ciso", config=config)


def _sent_messages(moto_url: str) -> list[dict[str, Any]]:
    # moto's own view of its backends: the SES backend's sent_messages list.
    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=5) as response:
        data = json.load(response)
    messages: list[dict[str, Any]] = data.get("ses", {}).get("RawMessage", [])
    return messages


async def test_sends_raw_multipart_via_ses(moto_url: str, caplog: pytest.LogCaptureFixture) -> None:
    _ses(moto_url).verify_email_identity(EmailAddress=SENDER)
    notifier = _notifier(moto_url)

    result = await notifier.send(payload=notifier.build_payload(sample_notification()))

    assert (result.outcome, result.status) == (Outcome.OK, 200)
    assert result.ref is not None
    assert result.ref.id
    quota = _ses(moto_url).get_send_quota()
    assert quota["SentLast24Hours"] >= 1
    raw = [m for m in _sent_messages(moto_url) if "Kong admin API exposed" in str(m)]
    assert raw, "moto recorded no raw message with the alert"
    parsed = email.message_from_string(str(raw[-1].get("raw_data", "")))
    assert {p.get_content_type() for p in parsed.walk()} >= {"text/plain", "text/html"}
    assert_no_secret_leak(SECRET_KEY, caplog)


async def test_unverified_sender_is_permanent_and_leaks_nothing(
    moto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = _notifier(moto_url, sender="nobody@unverified.example")
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert result.outcome is Outcome.PERMANENT
    assert result.error == "ses: MessageRejected"
    assert_no_secret_leak(SECRET_KEY, caplog, texts=[result.error])


async def test_unreachable_endpoint_is_retryable() -> None:
    notifier = _notifier(f"http://127.0.0.1:{free_port()}")
    result = await notifier.send(payload=notifier.build_payload(sample_notification()))
    assert (result.outcome, result.error) == (Outcome.RETRYABLE, "ses: EndpointConnectionError")
