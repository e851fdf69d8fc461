"""Escalation policies: the seed's table by default, overridable per severity, category, rule.

Config (``escalation:`` in the bridge config)::

    escalation:
      recipients:                      # who a level names -> the channels that reach them
        security_team: [slack_critical, email_security_team]
        ciso: [email_ciso, sms_ciso]
      severities:                      # replaces the seed's levels for a severity
        high: [{level: 1, delay: 0m, recipients: [security_team]}, ...]
      categories: {secrets: [...]}     # wins over the severity's policy
      rules: {kong_http_admin_api: [...]}  # wins over the category's

A rule labelled ``escalation: immediate`` gets one level, L1 at 0 minutes, addressed to every
recipient of its policy: everyone is told at once and nothing is left to escalate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.api.models import parse_duration
from bridge.frozen import frozen

IMMEDIATE = "immediate"


@frozen
class Level:
    level: int
    delay: timedelta
    recipients: tuple[str, ...]


class LevelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1)
    delay: timedelta = timedelta(0)
    recipients: tuple[str, ...] = Field(min_length=1)

    @field_validator("delay", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        # "15m", "1h", "4h" as in Alertmanager; numbers are seconds.
        return parse_duration(value) if isinstance(value, str) else value

    def compiled(self) -> Level:
        return Level(self.level, self.delay, self.recipients)


def _levels(*rows: tuple[int, timedelta, tuple[str, ...]]) -> list[LevelConfig]:
    return [LevelConfig(level=n, delay=d, recipients=r) for n, d, r in rows]


_M, _H = timedelta(minutes=1), timedelta(hours=1)
# The seed's AlertEscalationEngine.escalation_rules, verbatim.
SEED_POLICIES: dict[str, list[LevelConfig]] = {
    "critical": _levels(
        (1, 0 * _M, ("security_team",)),
        (2, 15 * _M, ("security_lead", "devops_lead")),
        (3, 1 * _H, ("ciso", "cto")),
        (4, 4 * _H, ("executive_team",)),
    ),
    "high": _levels(
        (1, 0 * _M, ("security_team",)),
        (2, 1 * _H, ("security_lead",)),
        (3, 4 * _H, ("ciso",)),
    ),
    "medium": _levels((1, 0 * _M, ("security_team",)), (2, 4 * _H, ("security_lead",))),
    "low": _levels((1, 0 * _M, ("security_team",))),
}

Policy = list[LevelConfig]


class EscalationConfig(BaseModel):
    """The ``escalation`` section; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # How often the scheduler looks for due levels (new alerts also wake it at once).
    tick_seconds: float = Field(default=10.0, gt=0)
    # New alerts wake the scheduler at most this soon after its last tick began, so a busy
    # bridge ticks a few times a second and each tick claims many alerts' first levels
    # (0: every wake ticks at once). An idle bridge's first new alert is claimed at once.
    kick_delay_seconds: float = Field(default=0.25, ge=0, le=60)
    # Alerts handled per store round trip; a larger backlog takes several rounds per tick.
    batch_size: int = Field(default=500, ge=1)
    recipients: dict[str, list[str]] = Field(default_factory=dict)
    severities: dict[str, Policy] = Field(default_factory=dict)
    categories: dict[str, Policy] = Field(default_factory=dict)
    rules: dict[str, Policy] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _well_formed(self) -> EscalationConfig:
        for section in ("severities", "categories", "rules"):
            for name, policy in getattr(self, section).items():
                numbers = [lvl.level for lvl in policy]
                if numbers != list(range(1, len(numbers) + 1)):
                    raise ValueError(f"{section}.{name}: levels must be 1, 2, 3, ... in order")
                delays = [lvl.delay for lvl in policy]
                if delays != sorted(delays):
                    raise ValueError(f"{section}.{name}: delays must not decrease")
        return self

    def policy_for(
        self,
        *,
        severity: str | None,
        category: str | None,
        rule_id: str | None,
        escalation: str | None = None,
    ) -> tuple[Level, ...]:
        """The levels for an alert: rule, else category, else severity (config, else seed)."""
        chosen: Sequence[LevelConfig] | None = None
        if rule_id is not None:
            chosen = self.rules.get(rule_id)
        if chosen is None and category is not None:
            chosen = self.categories.get(category)
        if chosen is None:
            key = severity if severity in SEED_POLICIES or severity in self.severities else "low"
            chosen = self.severities.get(key or "low", SEED_POLICIES.get(key or "low", []))
        levels = tuple(lvl.compiled() for lvl in chosen)
        if escalation == IMMEDIATE and levels:
            everyone = tuple(dict.fromkeys(r for lvl in levels for r in lvl.recipients))
            return (Level(1, timedelta(0), everyone),)
        return levels

    def channels_for(self, recipients: Sequence[str]) -> list[str]:
        """The channels that reach ``recipients``, each once, in config order."""
        return list(dict.fromkeys(c for r in recipients for c in self.recipients.get(r, [])))

    def referenced_channels(self) -> Mapping[str, list[str]]:
        """recipient -> channels, for the config check that every channel exists."""
        return self.recipients
