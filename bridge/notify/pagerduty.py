"""PagerDuty Events API v2: trigger, acknowledge and resolve one incident per alert.

https://developer.pagerduty.com/docs/events-api-v2/overview/ — ``POST /v2/enqueue`` with
``routing_key``, ``event_action`` (trigger|acknowledge|resolve), ``dedup_key`` and, for
triggers, ``payload{summary, source, severity, component, group, class, custom_details}``;
answers 202 ``{status, message, dedup_key}``, 400 for an invalid event, 429 when throttled.

The ``dedup_key`` is derived from the alert (:attr:`Notification.key`, ``secmon-…``) or taken
from the earlier :class:`MessageRef`, so acks and resolves made in secmon reach the same
PagerDuty incident and a re-trigger does not open a second one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal, Self

import aiohttp
from pydantic import SecretStr, model_validator

from bridge.notify.base import (
    MessageRef,
    Notification,
    NotifierConfig,
    Outcome,
    Payload,
    SendResult,
    resolve_secret_fields,
    secret_value,
)
from bridge.notify.http import HttpAnswer, request
from bridge.notify.render import as_dict

ACTIONS = {
    "firing": "trigger",
    "escalated": "trigger",
    "acknowledged": "acknowledge",
    "resolved": "resolve",
}
SUMMARY_LIMIT = 1024  # Events API v2 maximum for payload.summary


class PagerDutyConfig(NotifierConfig):
    type: Literal["pagerduty"] = "pagerduty"
    routing_key: SecretStr | None = None
    routing_key_file: Path | None = None
    url: str = "https://events.pagerduty.com/v2/enqueue"
    source: str = "secmon"
    severity_map: dict[str, Literal["critical", "error", "warning", "info"]] = {
        "critical": "critical",
        "high": "error",
        "medium": "warning",
        "low": "info",
    }

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["routing_key"], required=True)
        return self


def _describe(answer: HttpAnswer) -> str:
    try:
        data = answer.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors") or []
    return "; ".join([str(data.get("message", "")), *map(str, errors)]).strip("; ")


class PagerDutyNotifier:
    def __init__(
        self, *, name: str, config: PagerDutyConfig, session: aiohttp.ClientSession
    ) -> None:
        self.name = name
        self._config = config
        self._session = session

    def build_payload(self, notification: Notification) -> Payload:
        n = notification
        action = ACTIONS[n.state]
        dedup_key = n.previous.id if n.previous is not None else n.key
        event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
        if action == "trigger":
            event["payload"] = {
                "summary": f"[{n.severity.upper()}] {n.display_title}"[:SUMMARY_LIMIT],
                "source": n.asset or self._config.source,
                "severity": self._config.severity_map.get(n.severity, "error"),
                "component": n.asset or None,
                "group": n.category or None,
                "class": n.rule_id or None,
                "custom_details": as_dict(n),
            }
            event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
            event["client"] = "secmon"
            event["links"] = [{"href": link.url, "text": link.title} for link in n.links]
        return Payload(channel=self.name, alert_id=n.alert_id, operation=action, body=event)

    async def send(self, *, payload: Payload) -> SendResult:
        body = {"routing_key": secret_value(self._config.routing_key), **payload.body}
        result, answer = await request(
            self._session,
            "POST",
            self._config.url,
            timeout_seconds=self._config.timeout_seconds,
            json=body,
            describe_error=_describe,
        )
        if result.outcome is not Outcome.OK:
            return result
        dedup_key = str(payload.body["dedup_key"])
        if answer is not None:
            # A 202 with an unexpected body is still accepted.
            with contextlib.suppress(ValueError, AttributeError):
                dedup_key = str(answer.json().get("dedup_key") or dedup_key)
        return SendResult.ok(ref=MessageRef(self.name, dedup_key), status=result.status)
