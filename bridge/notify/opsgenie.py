"""Opsgenie Alert API: create with ``alias``, acknowledge and close by alias.

https://docs.opsgenie.com/docs/alert-api — ``POST /v2/alerts`` (``message`` ≤130 chars,
``alias`` ≤512, ``description``, ``priority`` P1-P5, ``entity``, ``source``, ``tags``,
``details``, ``responders``), ``POST /v2/alerts/{alias}/acknowledge?identifierType=alias`` and
``…/close?identifierType=alias`` (``user``, ``source``, ``note``); every call answers
202 ``{result, took, requestId}`` and is processed asynchronously.
Auth: ``Authorization: GenieKey <key>`` (https://docs.opsgenie.com/docs/authentication);
429 when over the rate limit (https://docs.opsgenie.com/docs/api-rate-limiting).

Opsgenie de-duplicates creates with an open alert of the same alias (its count goes up), so an
escalation re-creating the alert is safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote

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
from bridge.notify.http import request

MESSAGE_LIMIT = 130
DESCRIPTION_LIMIT = 15000


class OpsgenieConfig(NotifierConfig):
    type: Literal["opsgenie"] = "opsgenie"
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    api_url: str = "https://api.opsgenie.com"  # EU instances: https://api.eu.opsgenie.com
    source: str = "secmon"
    tags: list[str] = ["secmon"]
    responders: list[dict[str, str]] = []  # e.g. [{"type": "team", "name": "Security"}]
    priority_map: dict[str, Literal["P1", "P2", "P3", "P4", "P5"]] = {
        "critical": "P1",
        "high": "P2",
        "medium": "P3",
        "low": "P4",
    }

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["api_key"], required=True)
        return self


class OpsgenieNotifier:
    def __init__(
        self, *, name: str, config: OpsgenieConfig, session: aiohttp.ClientSession
    ) -> None:
        self.name = name
        self._config = config
        self._session = session

    def build_payload(self, notification: Notification) -> Payload:
        n = notification
        alias = n.previous.id if n.previous is not None else n.key
        body: dict[str, Any]
        if n.state in ("firing", "escalated"):
            operation = "create"
            description = "\n\n".join(
                x
                for x in (n.message, f"Remediation: {n.remediation}" if n.remediation else "")
                if x
            )
            body = {
                "message": n.display_title[:MESSAGE_LIMIT],
                "alias": alias,
                "description": description[:DESCRIPTION_LIMIT],
                "priority": self._config.priority_map.get(n.severity, "P3"),
                "entity": n.asset,
                "source": self._config.source,
                "tags": [*self._config.tags, f"severity:{n.severity}", f"category:{n.category}"],
                "details": {
                    "alert_id": n.alert_id,
                    "rule_id": n.rule_id,
                    "escalation_level": str(n.escalation_level),
                    **{link.title: link.url for link in n.links},
                },
            }
            if self._config.responders:
                body["responders"] = self._config.responders
        else:
            operation = "acknowledge" if n.state == "acknowledged" else "close"
            body = {"alias": alias, "source": self._config.source, "note": f"{n.state} in secmon"}
        return Payload(channel=self.name, alert_id=n.alert_id, operation=operation, body=body)

    async def send(self, *, payload: Payload) -> SendResult:
        base = self._config.api_url.rstrip("/")
        alias = str(payload.body["alias"])
        if payload.operation == "create":
            url, params, body = f"{base}/v2/alerts", {}, dict(payload.body)
        else:
            url = f"{base}/v2/alerts/{quote(alias, safe='')}/{payload.operation}"
            params = {"identifierType": "alias"}
            body = {k: v for k, v in payload.body.items() if k != "alias"}
        headers = {"Authorization": f"GenieKey {secret_value(self._config.api_key)}"}
        result, _answer = await request(
            self._session,
            "POST",
            url,
            timeout_seconds=self._config.timeout_seconds,
            json=body,
            params=params,
            headers=headers,
        )
        if result.outcome is not Outcome.OK:
            return result
        return SendResult.ok(ref=MessageRef(self.name, alias), status=result.status)
