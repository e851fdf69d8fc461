"""What every notifier shares: the notification, the wire payload, the send result, the Protocol.

A notifier is two steps, kept apart on purpose (Alertmanager ``notify/``, style point 6):

- ``build_payload(notification)`` is pure: it turns a :class:`Notification` into a JSON-able
  :class:`Payload` (no I/O, no clock, no secrets), so it is tested without a server and a payload
  can be stored as a dead letter and replayed later;
- ``send(payload=...)`` does the I/O and *classifies* the answer as a :class:`SendResult`: ok
  (with a :class:`MessageRef` to address the message later), retryable (with an optional
  ``Retry-After``) or permanent. It never retries: :mod:`bridge.notify.delivery` does that, once,
  for every channel.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from bridge.frozen import frozen
from bridge.secretfile import read_secret_file

Severity = Literal["critical", "high", "medium", "low"]
State = Literal["firing", "acknowledged", "resolved", "escalated"]

SEVERITY_EMOJI: Mapping[str, str] = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}


@frozen
class MessageRef:
    """Where a channel put a message, so later updates can address it.

    ``id`` is the channel's own handle: Slack ``ts``, PagerDuty ``dedup_key``, Opsgenie
    ``alias``, an email ``Message-ID``, a Twilio SID. ``conversation`` is the Slack channel id
    (``chat.update`` needs the id, not the name). ``id`` always names the message later updates
    address; when a send posted a thread reply (a Slack escalation), ``reply_id`` is the reply's.
    """

    channel: str
    id: str
    conversation: str | None = None
    reply_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "channel": self.channel,
            "id": self.id,
            "conversation": self.conversation,
            "reply_id": self.reply_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            channel=str(data["channel"]),
            id=str(data["id"]),
            conversation=data.get("conversation"),
            reply_id=data.get("reply_id"),
        )


@frozen
class Link:
    title: str
    url: str


@frozen
class Notification:
    """One thing to tell one channel about one alert (built by the routing/escalation stages)."""

    alert_id: str
    title: str
    message: str
    severity: Severity
    state: State = "firing"
    asset: str = ""
    rule_id: str = ""
    category: str = ""
    remediation: str = ""
    links: Sequence[Link] = ()
    escalation_level: int = 0
    recipients: Sequence[str] = ()
    # This channel's earlier message for the alert, if any (from the delivery store).
    previous: MessageRef | None = None
    # Stable across re-notifications; PagerDuty dedup_key and Opsgenie alias derive from it.
    dedup_key: str = ""

    @property
    def display_title(self) -> str:
        """The seed's wording: escalations read ``ESCALATED L{n}: {title}``."""
        if self.state == "escalated":
            return f"ESCALATED L{self.escalation_level}: {self.title}"
        if self.state == "acknowledged":
            return f"ACKNOWLEDGED: {self.title}"
        if self.state == "resolved":
            return f"RESOLVED: {self.title}"
        return self.title

    @property
    def key(self) -> str:
        """The dedup key vendors see: the given one, else ``secmon-{alert_id}``."""
        return self.dedup_key or f"secmon-{self.alert_id}"


@frozen
class Payload:
    """What a notifier puts on the wire, minus credentials and timestamps (added by ``send``).

    ``body`` is JSON-serialisable so a dead letter can be stored and replayed as it was.
    """

    channel: str
    alert_id: str
    operation: str
    body: Mapping[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "channel": self.channel,
                "alert_id": self.alert_id,
                "operation": self.operation,
                "body": self.body,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Self:
        data = json.loads(text)
        return cls(
            channel=data["channel"],
            alert_id=data["alert_id"],
            operation=data["operation"],
            body=data["body"],
        )


class Outcome(enum.StrEnum):
    OK = "ok"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@frozen
class SendResult:
    """How one attempt went. ``error`` is written by us and never contains a secret."""

    outcome: Outcome
    status: int | None = None
    ref: MessageRef | None = None
    retry_after: float | None = None
    error: str = ""

    @classmethod
    def ok(cls, *, ref: MessageRef | None, status: int | None = None) -> Self:
        return cls(Outcome.OK, status=status, ref=ref)

    @classmethod
    def retryable(
        cls, *, error: str, status: int | None = None, retry_after: float | None = None
    ) -> Self:
        return cls(Outcome.RETRYABLE, status=status, retry_after=retry_after, error=error)

    @classmethod
    def permanent(cls, *, error: str, status: int | None = None) -> Self:
        return cls(Outcome.PERMANENT, status=status, error=error)


@runtime_checkable
class Notifier(Protocol):
    """One configured channel (``slack_critical``, ``email_ciso``, …)."""

    name: str

    def build_payload(self, notification: Notification) -> Payload:
        """Pure: the payload for ``notification`` (no I/O, no clock, no secrets)."""
        ...

    async def send(self, *, payload: Payload) -> SendResult:
        """One attempt; classify the answer; never retry, never raise for vendor errors."""
        ...


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-trivial secret replaced: a last line of defence for error text."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return text


# -- config ------------------------------------------------------------------------------------


class NotifierConfig(BaseModel):
    """Base of every channel's config model: unknown keys are errors (typos are not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    type: str
    timeout_seconds: float = 10.0


def config_problem(loc: tuple[str, ...], message: str) -> InitErrorDetails:
    # input is None on purpose: the offending value may be a secret.
    return InitErrorDetails(type=PydanticCustomError("config_error", message), loc=loc, input=None)


def resolve_secret_fields(model: BaseModel, names: Iterable[str], *, required: bool) -> None:
    """Fill each ``name`` from ``name_file``; raise one ValidationError listing every problem."""
    problems: list[InitErrorDetails] = []
    for name in names:
        value: SecretStr | None = getattr(model, name)
        path: Path | None = getattr(model, f"{name}_file")
        if value is not None and path is not None:
            problems.append(config_problem((name,), f"set either {name} or {name}_file, not both"))
            continue
        if path is not None:
            try:
                setattr(model, name, SecretStr(read_secret_file(path)))
            except ValueError as exc:
                problems.append(config_problem((f"{name}_file",), str(exc)))
            continue
        if required and (value is None or not value.get_secret_value()):
            problems.append(config_problem((name,), f"{name} (or {name}_file) is required"))
    if problems:
        raise ValidationError.from_exception_data(type(model).__name__, problems)


def secret_value(secret: SecretStr | None) -> str:
    """The plain value of a validated (hence present) secret."""
    if secret is None:  # pragma: no cover - validators make this unreachable
        raise ValueError("secret not configured")
    return secret.get_secret_value()
