"""Slack button clicks: verify the request signature, then parse the block_actions payload.

Pure functions for the ``POST /api/v1/slack/interactions`` handler (wired in the app):

1. :func:`verify_slack_signature` — https://api.slack.com/authentication/verifying-requests-from-slack:
   ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of ``v0:{X-Slack-Request-Timestamp}:{raw
   body}`` keyed with the app's signing secret; compared in constant time; timestamps more than
   five minutes from now are refused so a captured request cannot be replayed later.
   :class:`ReplayGuard` also refuses the *same* signed request twice inside that window;
   :class:`RedisReplayGuard` does so across every replica sharing a Redis.
2. :func:`parse_block_action` — https://api.slack.com/reference/interaction-payloads/block-actions:
   the form field ``payload`` holds JSON with ``type: block_actions``, ``user``, ``actions[]``
   (``action_id``, ``value``), ``channel`` and ``container.message_ts``.

The handler answers 401 on :class:`SlackSignatureError` and must reply within 3 seconds, so it
acknowledges the alert and leaves the ``chat.update`` to the delivery path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import parse_qs

from redis.asyncio import Redis

from bridge.frozen import frozen
from bridge.notify.slack import ACK_ACTION, RESOLVE_ACTION

TOLERANCE_SECONDS = 300
ACTIONS: dict[str, Literal["acknowledge", "resolve"]] = {
    ACK_ACTION: "acknowledge",
    RESOLVE_ACTION: "resolve",
}


class SlackSignatureError(Exception):
    """The request is not provably from Slack (answer 401); the text is safe to log."""


class SlackPayloadError(ValueError):
    """The body is not a block_actions interaction we understand (answer 400)."""


def expected_signature(*, signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_signature(
    *,
    signing_secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`SlackSignatureError` unless the request is signed and fresh."""
    if not timestamp or not signature:
        raise SlackSignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SlackSignatureError("malformed X-Slack-Request-Timestamp") from None
    if abs(now - sent) > tolerance:
        raise SlackSignatureError("stale X-Slack-Request-Timestamp")
    wanted = expected_signature(signing_secret=signing_secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(wanted.encode(), signature.encode()):
        raise SlackSignatureError("X-Slack-Signature does not match")


class Replays(Protocol):
    async def check(self, *, signature: str, timestamp: str, now: float) -> None:
        """Raise :class:`SlackSignatureError` if this signed request was seen before."""


@dataclass
class ReplayGuard:
    """Remembers signatures seen within the tolerance window, in this process only."""

    tolerance: float = TOLERANCE_SECONDS
    _seen: dict[str, float] = field(default_factory=dict)

    async def check(self, *, signature: str, timestamp: str, now: float) -> None:
        for key, ts in list(self._seen.items()):
            if now - ts > self.tolerance:
                del self._seen[key]
        if signature in self._seen:
            raise SlackSignatureError("replayed request")
        self._seen[signature] = float(timestamp)


@dataclass
class RedisReplayGuard:
    """The replicas' shared memory of signatures: ``SET NX`` expiring with the window.

    The key outlives the request's timestamp by the tolerance, after which the signature check
    refuses the request as stale anyway. Redis errors propagate (the handler answers 503): a
    click is safer refused than possibly acted on twice.
    """

    redis: Redis
    tolerance: float = TOLERANCE_SECONDS
    prefix: str = "secmon:slack:seen:"

    async def check(self, *, signature: str, timestamp: str, now: float) -> None:
        ttl = max(1, int(self.tolerance - (now - float(timestamp))) + 1)
        fresh = await self.redis.set(self.prefix + signature, timestamp, nx=True, ex=ttl)
        if not fresh:
            raise SlackSignatureError("replayed request")


@frozen
class SlackAction:
    action: Literal["acknowledge", "resolve"]
    alert_id: str
    user_id: str
    user_name: str
    channel_id: str | None
    message_ts: str | None
    response_url: str | None


def parse_block_action(body: bytes) -> SlackAction:
    """The first secmon button in a block_actions payload; :class:`SlackPayloadError` otherwise."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        data = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        raise SlackPayloadError("body is not a form with a JSON 'payload' field") from None
    if not isinstance(data, dict) or data.get("type") != "block_actions":
        raise SlackPayloadError("not a block_actions interaction")
    user = data.get("user") or {}
    actions = data.get("actions") or []
    if not isinstance(user, dict) or not isinstance(actions, list):
        raise SlackPayloadError("malformed user or actions")
    for action in actions:
        if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
            continue
        alert_id = action.get("value")
        if not isinstance(alert_id, str) or not alert_id:
            raise SlackPayloadError("secmon action without an alert id")
        channel = data.get("channel") or {}
        container = data.get("container") or {}
        return SlackAction(
            action=ACTIONS[str(action["action_id"])],
            alert_id=alert_id,
            user_id=str(user.get("id", "")),
            user_name=str(user.get("username") or user.get("name") or user.get("id", "")),
            channel_id=channel.get("id") if isinstance(channel, dict) else None,
            message_ts=container.get("message_ts") if isinstance(container, dict) else None,
            response_url=data.get("response_url"),
        )
    raise SlackPayloadError("no secmon action in the interaction")
