"""The registry builds every channel type and reports every config error at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.notify.base import Notifier
from bridge.notify.registry import (
    REGISTRY,
    NotifierConfigError,
    build_notifiers,
    parse_channel_configs,
)

CHANNELS: dict[str, dict[str, Any]] = {
    "slack_critical": {"type": "slack", "token": "xoxb-1", "channel": "#security-critical"},
    "email_security_team": {
        "type": "email_smtp",
        "host": "smtp.example.com",
        "from_address": "secmon@example.com",
        "to": ["security-team@example.com"],
    },
    "email_ciso": {
        "type": "email_ses",
        "region": "eu-west-1",
        "from_address": "secmon@example.com",
        "to": ["ciso@example.com"],
    },
    "webhook_soc": {"type": "webhook", "url": "https://soc.example.com/hook", "secret": "s3cret"},
    "sms_oncall": {
        "type": "twilio_sms",
        "account_sid": "AC1",
        "auth_token": "t",
        "from_number": "+15550000000",
        "to": "+15551111111",
    },
    "phone_oncall": {
        "type": "twilio_call",
        "account_sid": "AC1",
        "auth_token": "t",
        "from_number": "+15550000000",
        "to": "+15551111111",
    },
    "pagerduty_oncall": {"type": "pagerduty", "routing_key": "R" * 32},
    "opsgenie_security": {"type": "opsgenie", "api_key": "k-123"},
}


async def test_builds_every_registered_type(session: aiohttp.ClientSession) -> None:
    notifiers = build_notifiers(CHANNELS, session=session)
    assert {c["type"] for c in CHANNELS.values()} == set(REGISTRY)
    assert set(notifiers) == set(CHANNELS)
    for name, notifier in notifiers.items():
        assert isinstance(notifier, Notifier)
        assert notifier.name == name


def test_reports_all_errors_with_channel_and_field_never_values(tmp_path: Path) -> None:
    raw = {
        "slack_devops": {"type": "slack", "channel": "#devops"},  # no token
        "pagerduty_oncall": {"type": "pagerduty", "routing_key_file": tmp_path / "missing"},
        "opsgenie": {"type": "opsgenie", "api_key": "k-leak-4321", "colour": "red"},
        "carrier_pigeon": {"type": "pigeon"},
        "bad name!": {"type": "slack"},
        "webhook_soc": {"type": "webhook", "url": "not-a-url-secret-7777"},
        "email_ciso": {"type": "email_smtp", "host": "h", "from_address": "a@b"},  # no "to"
    }
    with pytest.raises(NotifierConfigError) as info:
        parse_channel_configs(raw)
    where = {(p.channel, p.field) for p in info.value.problems}
    assert where >= {
        ("slack_devops", "token"),
        ("pagerduty_oncall", "routing_key_file"),
        ("opsgenie", "colour"),
        ("carrier_pigeon", "type"),
        ("bad name!", ""),
        ("webhook_soc", "url"),
        ("email_ciso", "to"),
    }
    text = str(info.value)
    assert "channels.slack_devops.token" in text
    assert "k-leak-4321" not in text
    assert "not-a-url-secret-7777" not in text
