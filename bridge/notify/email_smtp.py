"""Email over SMTP with STARTTLS (aiosmtplib): multipart HTML + plain text.

STARTTLS is required by default (``starttls: true``): aiosmtplib refuses to go on if the server
does not offer it, so credentials and alert details never cross the network in clear text.
``tls: true`` uses implicit TLS (port 465) instead. SMTP reply codes classify the result the
way RFC 5321 defines them: 4yz transient (retry), 5yz permanent.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal, Self

import aiosmtplib
from pydantic import SecretStr, ValidationError, model_validator

from bridge.notify.base import (
    MessageRef,
    Notification,
    NotifierConfig,
    Payload,
    SendResult,
    config_problem,
    resolve_secret_fields,
)
from bridge.notify.email_message import build_email_payload, mime_message


class SmtpConfig(NotifierConfig):
    type: Literal["email_smtp"] = "email_smtp"
    host: str
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    starttls: bool = True
    tls: bool = False
    ca_file: Path | None = None  # a private CA or a test server's self-signed certificate
    from_address: str
    to: list[str]
    message_id_domain: str = "secmon.local"

    @model_validator(mode="after")
    def _check(self) -> Self:
        resolve_secret_fields(self, ["password"], required=False)
        if self.starttls and self.tls:
            problem = config_problem(("tls",), "set starttls or tls (implicit TLS), not both")
            raise ValidationError.from_exception_data(type(self).__name__, [problem])
        return self


class SmtpNotifier:
    def __init__(self, *, name: str, config: SmtpConfig) -> None:
        self.name = name
        self._config = config
        self._tls_context = ssl.create_default_context(
            cafile=str(config.ca_file) if config.ca_file else None
        )

    def build_payload(self, notification: Notification) -> Payload:
        c = self._config
        return build_email_payload(
            notification, channel=self.name, from_address=c.from_address, to=c.to,
            domain=c.message_id_domain,
        )  # fmt: skip

    async def send(self, *, payload: Payload) -> SendResult:
        c = self._config
        message = mime_message(payload.body)
        try:
            refused, _reply = await aiosmtplib.send(
                message,
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password.get_secret_value() if c.password else None,
                start_tls=c.starttls and not c.tls,
                use_tls=c.tls,
                tls_context=self._tls_context,
                timeout=c.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({r.code for r in exc.recipients})
            return _by_code(codes[0] if codes else 550, "all recipients refused")
        except aiosmtplib.SMTPResponseException as exc:
            return _by_code(exc.code, type(exc).__name__)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Connection trouble, TLS failure, disconnects: another attempt may get through.
            return SendResult.retryable(error=f"smtp: {type(exc).__name__}")
        if refused:
            # Some recipients accepted: retrying would duplicate mail for them.
            return SendResult.permanent(error=f"smtp: {len(refused)} recipient(s) refused")
        return SendResult.ok(ref=MessageRef(self.name, str(payload.body["message_id"])))


def _by_code(code: int, what: str) -> SendResult:
    if 400 <= code < 500:
        return SendResult.retryable(status=code, error=f"smtp {code}: {what}")
    return SendResult.permanent(status=code, error=f"smtp {code}: {what}")
