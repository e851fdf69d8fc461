"""The explicit registry: config ``type`` → (config model, factory), and building every channel.

:func:`parse_channel_configs` validates every channel and raises one
:class:`NotifierConfigError` listing *all* problems (channel name and field each), so
``--check-config`` shows everything at once. :func:`build_notifiers` then constructs them at
start-up, never lazily at the first alert. Adding a channel type is one entry here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from pydantic import ValidationError

from bridge.frozen import frozen
from bridge.notify.base import Notifier, NotifierConfig
from bridge.notify.email_ses import SesConfig, SesNotifier
from bridge.notify.email_smtp import SmtpConfig, SmtpNotifier
from bridge.notify.opsgenie import OpsgenieConfig, OpsgenieNotifier
from bridge.notify.pagerduty import PagerDutyConfig, PagerDutyNotifier
from bridge.notify.slack import SlackConfig, SlackNotifier
from bridge.notify.twilio import TwilioCallNotifier, TwilioConfig, TwilioSmsNotifier
from bridge.notify.webhook import WebhookConfig, WebhookNotifier

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@frozen
class Deps:
    """What the app lends notifiers: the shared HTTP session (owned by its cleanup_ctx)."""

    session: aiohttp.ClientSession


@frozen
class NotifierType:
    config: type[NotifierConfig]
    build: Callable[[str, Any, Deps], Notifier]


REGISTRY: dict[str, NotifierType] = {
    "slack": NotifierType(
        SlackConfig, lambda name, c, d: SlackNotifier(name=name, config=c, session=d.session)
    ),
    "webhook": NotifierType(
        WebhookConfig, lambda name, c, d: WebhookNotifier(name=name, config=c, session=d.session)
    ),
    "email_smtp": NotifierType(SmtpConfig, lambda name, c, d: SmtpNotifier(name=name, config=c)),
    "email_ses": NotifierType(SesConfig, lambda name, c, d: SesNotifier(name=name, config=c)),
    "twilio_sms": NotifierType(
        TwilioConfig, lambda name, c, d: TwilioSmsNotifier(name=name, config=c, session=d.session)
    ),
    "twilio_call": NotifierType(
        TwilioConfig, lambda name, c, d: TwilioCallNotifier(name=name, config=c, session=d.session)
    ),
    "pagerduty": NotifierType(
        PagerDutyConfig,
        lambda name, c, d: PagerDutyNotifier(name=name, config=c, session=d.session),
    ),
    "opsgenie": NotifierType(
        OpsgenieConfig, lambda name, c, d: OpsgenieNotifier(name=name, config=c, session=d.session)
    ),
}


@frozen
class ConfigProblem:
    channel: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"channels.{self.channel}" + (f".{self.field}" if self.field else "")
        return f"{where}: {self.message}"


class NotifierConfigError(ValueError):
    """Every channel config problem at once; the text never contains a configured value."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} channel config error(s):\n{lines}")


def parse_channel_configs(raw: Mapping[str, Any]) -> dict[str, NotifierConfig]:
    """Validate ``{channel_name: {type: …, …}}``; raise one error listing every problem."""
    problems: list[ConfigProblem] = []
    parsed: dict[str, NotifierConfig] = {}
    for name, data in raw.items():
        if not CHANNEL_NAME.match(name):
            problems.append(ConfigProblem(name, "", "channel names are letters, digits, _ . -"))
            continue
        if isinstance(data, NotifierConfig):
            parsed[name] = data
            continue
        if not isinstance(data, Mapping):
            problems.append(ConfigProblem(name, "", "must be a mapping with a 'type'"))
            continue
        kind = data.get("type")
        entry = REGISTRY.get(str(kind))
        if entry is None:
            known = ", ".join(sorted(REGISTRY))
            problems.append(ConfigProblem(name, "type", f"unknown type {kind!r}; one of {known}"))
            continue
        try:
            parsed[name] = entry.config.model_validate(dict(data))
        except ValidationError as exc:
            # err["input"] is never shown: it may be a token.
            problems.extend(
                ConfigProblem(name, ".".join(str(x) for x in err["loc"]), err["msg"])
                for err in exc.errors()
            )
    if problems:
        raise NotifierConfigError(problems)
    return parsed


def build_notifiers(
    configs: Mapping[str, Any], *, session: aiohttp.ClientSession
) -> dict[str, Notifier]:
    """Every configured channel, constructed now; config errors all reported together."""
    parsed = parse_channel_configs(configs)
    deps = Deps(session=session)
    return {
        name: REGISTRY[config.type].build(name, config, deps) for name, config in parsed.items()
    }
