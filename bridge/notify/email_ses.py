"""Email through Amazon SES (boto3 ``send_raw_email``, run in a worker thread).

The raw form sends the same multipart HTML + text message as SMTP, threading headers included.
boto3 is synchronous, so each send runs in ``asyncio.to_thread``; botocore's own retries are
turned off (``total_max_attempts=1``) because retries live in the delivery policy.
Classification: throttling and 5xx retry; rejected messages and unverified senders are
permanent (https://docs.aws.amazon.com/ses/latest/APIReference/API_SendRawEmail.html#API_SendRawEmail_Errors).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal, Self

import boto3
import botocore.config
import botocore.exceptions
from pydantic import SecretStr, model_validator

from bridge.notify.base import (
    MessageRef,
    Notification,
    NotifierConfig,
    Payload,
    SendResult,
    resolve_secret_fields,
)
from bridge.notify.email_message import build_email_payload, mime_message

RETRYABLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure", "RequestTimeout"}
)


class SesConfig(NotifierConfig):
    type: Literal["email_ses"] = "email_ses"
    region: str
    from_address: str
    to: list[str]
    access_key_id: str | None = None  # unset: boto3's default chain (role, env, profile)
    secret_access_key: SecretStr | None = None
    secret_access_key_file: Path | None = None
    endpoint_url: str | None = None  # VPC endpoint, or a local moto server in tests
    configuration_set: str | None = None
    message_id_domain: str = "secmon.local"

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        resolve_secret_fields(self, ["secret_access_key"], required=self.access_key_id is not None)
        return self


class SesNotifier:
    def __init__(self, *, name: str, config: SesConfig) -> None:
        self.name = name
        self._config = config
        secret = config.secret_access_key
        # Any: boto3-stubs for SES are not installed; the two calls used are documented above.
        self._client: Any = boto3.session.Session().client(
            "ses",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=botocore.config.Config(
                retries={"total_max_attempts": 1},
                connect_timeout=config.timeout_seconds,
                read_timeout=config.timeout_seconds,
            ),
        )

    def build_payload(self, notification: Notification) -> Payload:
        c = self._config
        return build_email_payload(
            notification, channel=self.name, from_address=c.from_address, to=c.to,
            domain=c.message_id_domain,
        )  # fmt: skip

    async def send(self, *, payload: Payload) -> SendResult:
        message = mime_message(payload.body)
        args: dict[str, Any] = {
            "Source": payload.body["from"],
            "Destinations": list(payload.body["to"]),
            "RawMessage": {"Data": message.as_bytes()},
        }
        if self._config.configuration_set:
            args["ConfigurationSetName"] = self._config.configuration_set
        try:
            answer = await asyncio.to_thread(self._client.send_raw_email, **args)
        except botocore.exceptions.ClientError as exc:
            return classify_client_error(exc)
        except botocore.exceptions.BotoCoreError as exc:
            # Endpoint unreachable, timeouts, no credentials: worth another attempt.
            return SendResult.retryable(error=f"ses: {type(exc).__name__}")
        return SendResult.ok(ref=MessageRef(self.name, str(answer["MessageId"])), status=200)


def classify_client_error(exc: botocore.exceptions.ClientError) -> SendResult:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) or None
    if code in RETRYABLE_CODES or (status is not None and status >= 500):
        return SendResult.retryable(status=status, error=f"ses: {code}")
    return SendResult.permanent(status=status, error=f"ses: {code}")
