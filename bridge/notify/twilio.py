"""SMS and phone calls through Twilio's REST API (Messages and Calls resources).

- SMS: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource —
  ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``,
  ``Body``; 201 with the message ``sid``.
- Voice: https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource —
  ``POST …/Calls.json`` with ``To``, ``From`` and inline ``Twiml``
  (https://www.twilio.com/docs/voice/twiml/say): the alert is read out with ``<Say>``.

HTTP basic auth with the Account SID and auth token. Errors come back as
``{code, message, more_info, status}`` (e.g. 20003 authentication, 21211 invalid ``To``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Literal, Self
from xml.sax.saxutils import escape

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

SMS_LIMIT = 320  # two segments: enough for a page, short enough to read at 3 a.m.


class TwilioConfig(NotifierConfig):
    type: Literal["twilio_sms", "twilio_call"]
    account_sid: str
    auth_token: SecretStr | None = None
    auth_token_file: Path | None = None
    from_number: str
    to: str
    api_url: str = "https://api.twilio.com"
    voice: str = "alice"
    repeat: int = 2

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["auth_token"], required=True)
        return self


def sms_text(n: Notification) -> str:
    asset = f" on {n.asset}" if n.asset else ""
    return f"[{n.severity.upper()}] {n.display_title}{asset} (secmon alert {n.alert_id})"[
        :SMS_LIMIT
    ]


def call_twiml(n: Notification, *, voice: str, repeat: int) -> str:
    words = f"Secmon security alert. Severity {n.severity}. {n.display_title}."
    if n.asset:
        words += f" Asset {n.asset}."
    say = f'<Say voice="{escape(voice)}" loop="{repeat}">{escape(words)}</Say>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{say}</Response>'


def _basic_auth(user: str, password: str) -> str:
    # Built by hand: aiohttp's BasicAuth helper is deprecated and its replacement is new.
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _describe(answer: HttpAnswer) -> str:
    try:
        data = answer.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return f"twilio {data.get('code')}: {data.get('message', '')}"


class _TwilioNotifier:
    resource = ""

    def __init__(self, *, name: str, config: TwilioConfig, session: aiohttp.ClientSession) -> None:
        self.name = name
        self._config = config
        self._session = session

    async def send(self, *, payload: Payload) -> SendResult:
        c = self._config
        url = f"{c.api_url.rstrip('/')}/2010-04-01/Accounts/{c.account_sid}/{self.resource}.json"
        result, answer = await request(
            self._session,
            "POST",
            url,
            timeout_seconds=c.timeout_seconds,
            data=dict(payload.body),
            headers={"Authorization": _basic_auth(c.account_sid, secret_value(c.auth_token))},
            describe_error=_describe,
        )
        if result.outcome is not Outcome.OK or answer is None:
            return result
        try:
            sid = str(answer.json().get("sid", ""))
        except (ValueError, AttributeError):
            sid = ""
        return SendResult.ok(ref=MessageRef(self.name, sid), status=result.status)


class TwilioSmsNotifier(_TwilioNotifier):
    resource = "Messages"

    def build_payload(self, notification: Notification) -> Payload:
        body = {
            "To": self._config.to,
            "From": self._config.from_number,
            "Body": sms_text(notification),
        }
        return Payload(self.name, notification.alert_id, "sms", body)


class TwilioCallNotifier(_TwilioNotifier):
    resource = "Calls"

    def build_payload(self, notification: Notification) -> Payload:
        twiml = call_twiml(notification, voice=self._config.voice, repeat=self._config.repeat)
        body = {"To": self._config.to, "From": self._config.from_number, "Twiml": twiml}
        return Payload(self.name, notification.alert_id, "call", body)
