"""Generic webhook: a signed JSON POST to a URL that only ever comes from config.

Headers, in the style of Stripe/Slack signing so receivers can reuse their code::

    X-Secmon-Timestamp: 1718000000
    X-Secmon-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>

Receivers recompute the HMAC over the raw body, compare in constant time and reject old
timestamps; :func:`verify_signature` does exactly that and the webhook sink fake uses it.
The URL is a secret too (Slack/Teams incoming-webhook URLs embed credentials), so it never
appears in errors or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Self

import aiohttp
from pydantic import AnyHttpUrl, SecretStr, ValidationError, model_validator

from bridge.notify.base import (
    MessageRef,
    Notification,
    NotifierConfig,
    Outcome,
    Payload,
    SendResult,
    config_problem,
    resolve_secret_fields,
    secret_value,
)
from bridge.notify.http import request
from bridge.notify.render import as_dict

SIGNATURE_HEADER = "X-Secmon-Signature"
TIMESTAMP_HEADER = "X-Secmon-Timestamp"


class WebhookConfig(NotifierConfig):
    type: Literal["webhook"] = "webhook"
    url: SecretStr | None = None
    url_file: Path | None = None
    secret: SecretStr | None = None
    secret_file: Path | None = None
    headers: dict[str, str] = {}

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["url"], required=True)
        resolve_secret_fields(self, ["secret"], required=False)
        try:
            AnyHttpUrl(secret_value(self.url))
        except ValueError:
            # Re-raised without the value: pydantic would echo the URL, which may hold a token.
            problem = config_problem(("url",), "not a valid http(s) URL")
            raise ValidationError.from_exception_data(type(self).__name__, [problem]) from None
        return self


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float, tolerance: float = 300
) -> bool:
    """True when ``signature`` is ours over ``body`` and ``timestamp`` is within ``tolerance``."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret=secret, timestamp=ts, body=body), signature)


class WebhookNotifier:
    """POSTs :func:`bridge.notify.render.as_dict` with ``X-Secmon-*`` signature headers."""

    def __init__(
        self,
        *,
        name: str,
        config: WebhookConfig,
        session: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._config = config
        self._session = session
        self._clock = clock

    def build_payload(self, notification: Notification) -> Payload:
        return Payload(
            channel=self.name,
            alert_id=notification.alert_id,
            operation="post",
            body={"version": "1", "notification": as_dict(notification)},
        )

    async def send(self, *, payload: Payload) -> SendResult:
        body = json.dumps(payload.body, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self._config.headers}
        if self._config.secret is not None:
            timestamp = int(self._clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(
                secret=self._config.secret.get_secret_value(), timestamp=timestamp, body=body
            )
        result, _answer = await request(
            self._session,
            "POST",
            secret_value(self._config.url),
            timeout_seconds=self._config.timeout_seconds,
            data=body,
            headers=headers,
        )
        if result.outcome is Outcome.OK:
            return SendResult.ok(ref=MessageRef(self.name, payload.alert_id), status=result.status)
        return result
