"""Slack interaction signature verification and block_actions parsing."""

from __future__ import annotations

import json
from typing import Any, TypedDict
from urllib.parse import urlencode

import pytest

from bridge.notify.slack import ACK_ACTION, RESOLVE_ACTION
from bridge.notify.slack_interactions import (
    RedisReplayGuard,
    ReplayGuard,
    SlackPayloadError,
    SlackSignatureError,
    expected_signature,
    parse_block_action,
    verify_slack_signature,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example secret
NOW = 1_700_000_000.0


def click(action_id: str = ACK_ACTION, value: str = "a-42", **extra: Any) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": "T0"},
        "channel": {"id": "C0SECCRIT", "name": "security-critical"},
        "container": {"type": "message", "message_ts": "1700000001.000001"},
        "response_url": "https://hooks.slack.com/actions/T0/1/xyz",
        "actions": [{"type": "button", "action_id": action_id, "value": value}],
        **extra,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


class Signed(TypedDict):
    timestamp: str
    signature: str


def signed(body: bytes, ts: float = NOW) -> Signed:
    stamp = str(int(ts))
    return {
        "timestamp": stamp,
        "signature": expected_signature(signing_secret=SECRET, timestamp=stamp, body=body),
    }


def test_slack_documentation_example() -> None:
    # https://api.slack.com/authentication/verifying-requests-from-slack (worked example)
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebh"
        b"ook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2"
        b"F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc8"
        b"87a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert expected_signature(signing_secret=SECRET, timestamp="1531420618", body=body) == expected


def test_valid_click_is_verified_and_parsed() -> None:
    body = click()
    verify_slack_signature(signing_secret=SECRET, body=body, now=NOW + 10, **signed(body))
    action = parse_block_action(body)
    assert (action.action, action.alert_id, action.user_name) == ("acknowledge", "a-42", "alice")
    assert (action.channel_id, action.message_ts) == ("C0SECCRIT", "1700000001.000001")
    assert parse_block_action(click(RESOLVE_ACTION)).action == "resolve"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signature": "v0=" + "0" * 64}, "does not match"),
        ({"signature": None}, "missing"),
        ({"timestamp": "yesterday"}, "malformed"),
    ],
)
def test_bad_signatures_are_refused(change: dict[str, Any], reason: str) -> None:
    body = click()
    headers: dict[str, Any] = {**signed(body), **change}
    with pytest.raises(SlackSignatureError, match=reason) as info:
        verify_slack_signature(signing_secret=SECRET, body=body, now=NOW, **headers)
    assert SECRET not in str(info.value)


def test_tampered_body_and_wrong_secret_are_refused() -> None:
    body = click()
    headers = signed(body)
    with pytest.raises(SlackSignatureError):
        verify_slack_signature(signing_secret=SECRET, body=click(value="a-43"), now=NOW, **headers)
    with pytest.raises(SlackSignatureError):
        verify_slack_signature(signing_secret="other-secret", body=body, now=NOW, **headers)


def test_stale_timestamp_is_refused() -> None:
    body = click()
    headers = signed(body, ts=NOW - 301)
    with pytest.raises(SlackSignatureError, match="stale"):
        verify_slack_signature(signing_secret=SECRET, body=body, now=NOW, **headers)
    verify_slack_signature(signing_secret=SECRET, body=body, now=NOW - 1, **headers)


async def test_replayed_request_is_refused_within_the_window() -> None:
    body = click()
    headers = signed(body)
    guard = ReplayGuard()
    await guard.check(signature=headers["signature"], timestamp=headers["timestamp"], now=NOW)
    with pytest.raises(SlackSignatureError, match="replayed"):
        await guard.check(
            signature=headers["signature"], timestamp=headers["timestamp"], now=NOW + 5
        )
    # After the window the timestamp check refuses it anyway, so the guard forgets it.
    await guard.check(signature="v0=other", timestamp=str(int(NOW + 400)), now=NOW + 400)
    assert headers["signature"] not in guard._seen


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=not-json",
        b"token=x",
        urlencode({"payload": json.dumps({"type": "view_submission"})}).encode(),
        urlencode({"payload": json.dumps([1, 2])}).encode(),
        click(action_id="someone_elses_button"),
        click(value=""),
        b"\xff\xfe",
    ],
)
def test_malformed_payloads_are_rejected(body: bytes) -> None:
    with pytest.raises(SlackPayloadError):
        parse_block_action(body)


@pytest.mark.redis
async def test_redis_guard_refuses_a_replay_seen_by_another_replica(redis_url: str) -> None:
    import redis.asyncio as aioredis

    body = click()
    headers = signed(body)
    one, two = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    try:
        await RedisReplayGuard(one).check(
            signature=headers["signature"], timestamp=headers["timestamp"], now=NOW
        )
        with pytest.raises(SlackSignatureError, match="replayed"):
            await RedisReplayGuard(two).check(
                signature=headers["signature"], timestamp=headers["timestamp"], now=NOW + 5
            )
        # Kept only as long as the timestamp check would still accept the request.
        ttl = await one.ttl("secmon:slack:seen:" + headers["signature"])
        assert 0 < ttl <= 301
    finally:
        await one.aclose()
        await two.aclose()
