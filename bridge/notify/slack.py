"""Slack through slack-sdk's async Web API client: Block Kit messages with Ack/Resolve buttons.

- First notice: ``chat.postMessage`` to the configured channel; the answer's channel id and
  ``ts`` become the :class:`MessageRef`.
- State change (acknowledged, resolved, re-fired) of a message already sent: ``chat.update``
  of that message, so the channel shows one up-to-date message per alert.
- Escalation of a message already sent: a thread reply (``thread_ts``) reading
  ``ESCALATED L{n}: {title}``, broadcast to the channel so it is seen.

The buttons carry ``action_id`` ``secmon_acknowledge``/``secmon_resolve`` and the alert id as
``value``; :mod:`bridge.notify.slack_interactions` verifies and parses the clicks.
slack-sdk's own retry handlers are switched off: retries live in :mod:`bridge.notify.delivery`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import aiohttp
from pydantic import SecretStr, model_validator
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.notify.base import (
    SEVERITY_EMOJI,
    MessageRef,
    Notification,
    NotifierConfig,
    Payload,
    SendResult,
    resolve_secret_fields,
    secret_value,
)
from bridge.notify.http import parse_retry_after

ACK_ACTION = "secmon_acknowledge"
RESOLVE_ACTION = "secmon_resolve"
# Slack's documented transient errors (https://api.slack.com/web, "Evaluating responses").
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
HEADER_LIMIT = 150  # Block Kit header text maximum


class SlackConfig(NotifierConfig):
    type: Literal["slack"] = "slack"
    token: SecretStr | None = None
    token_file: Path | None = None
    channel: str  # "#security-critical", "security-critical" or an id "C0…"
    base_url: str = "https://slack.com/api/"
    broadcast_escalations: bool = True

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["token"], required=True)
        return self


def blocks(notification: Notification) -> list[dict[str, Any]]:
    """The Block Kit layout: header, message, fields, remediation, links, buttons."""
    n = notification
    header = f"{SEVERITY_EMOJI.get(n.severity, '')} [{n.severity.upper()}] {n.display_title}"
    title = {"type": "plain_text", "text": header[:HEADER_LIMIT], "emoji": True}
    out: list[dict[str, Any]] = [{"type": "header", "text": title}]
    if n.message:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": n.message}})
    fields = [
        {"type": "mrkdwn", "text": f"*{label}:*\n{value}"}
        for label, value in (
            ("Asset", n.asset),
            ("Rule", n.rule_id),
            ("Category", n.category),
            ("State", n.state),
        )
        if value
    ]
    if fields:
        out.append({"type": "section", "fields": fields})
    if n.remediation:
        text = f"*Remediation:*\n{n.remediation}"
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if n.links:
        links = " · ".join(f"<{link.url}|{link.title}>" for link in n.links)
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    buttons = []
    if n.state in ("firing", "escalated"):
        buttons.append(_button("Acknowledge", ACK_ACTION, n.alert_id, "primary"))
    if n.state != "resolved":
        buttons.append(_button("Resolve", RESOLVE_ACTION, n.alert_id, "danger"))
    if buttons:
        out.append({"type": "actions", "block_id": f"secmon:{n.alert_id}", "elements": buttons})
    return out


def _button(label: str, action_id: str, alert_id: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": alert_id,
        "style": style,
    }


class SlackNotifier:
    def __init__(
        self, *, name: str, config: SlackConfig, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.name = name
        self._config = config
        self._client = AsyncWebClient(
            token=secret_value(config.token),
            base_url=config.base_url,
            timeout=int(max(1, config.timeout_seconds)),
            session=session,
            retry_handlers=[],
        )

    def build_payload(self, notification: Notification) -> Payload:
        n = notification
        text = f"[{n.severity.upper()}] {n.display_title}"  # notification/fallback text
        args: dict[str, Any] = {"text": text, "blocks": blocks(n)}
        previous = n.previous
        if previous is None or previous.conversation is None:
            method = "chat.postMessage"
            args["channel"] = self._config.channel
        elif n.state == "escalated":
            method = "chat.postMessage"
            args |= {"channel": previous.conversation, "thread_ts": previous.id}
            args["reply_broadcast"] = self._config.broadcast_escalations
        else:
            method = "chat.update"
            args |= {"channel": previous.conversation, "ts": previous.id}
        return Payload(channel=self.name, alert_id=n.alert_id, operation=method, body=args)

    async def send(self, *, payload: Payload) -> SendResult:
        args = dict(payload.body)
        try:
            if payload.operation == "chat.update":
                response = await self._client.chat_update(**args)
            else:
                response = await self._client.chat_postMessage(**args)
        except SlackApiError as exc:
            return classify_slack_error(exc)
        except TimeoutError:
            return SendResult.retryable(error="timeout")
        except aiohttp.ClientError as exc:
            return SendResult.retryable(error=f"connection error ({type(exc).__name__})")
        channel_id = str(response.get("channel") or args["channel"])
        ts = str(response.get("ts"))
        if "thread_ts" in args:
            ref = MessageRef(self.name, str(args["thread_ts"]), channel_id, reply_id=ts)
        else:
            ref = MessageRef(self.name, ts, channel_id)
        return SendResult.ok(ref=ref, status=response.status_code)


def classify_slack_error(exc: SlackApiError) -> SendResult:
    """HTTP 429/5xx and Slack's transient ``error`` codes retry; other errors are permanent."""
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    retry_after = headers.get("retry-after")
    if isinstance(retry_after, list):
        retry_after = retry_after[0] if retry_after else None
    if status == 429 or status >= 500 or error in RETRYABLE_ERRORS:
        return SendResult.retryable(
            status=status,
            retry_after=parse_retry_after(retry_after),
            error=f"slack: {error}",
        )
    return SendResult.permanent(status=status, error=f"slack: {error}")
