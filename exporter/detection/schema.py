"""Pydantic models for one rule document in the seed's YAML format.

These models check structure only (required keys, types, known severities, no misspelt keys).
Conditions, actions and templates are kept as raw YAML here and checked by their own modules,
which can name the offending expression and its line.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
RuleKind = Literal["state", "change"]
RuleSeverity = Literal["critical", "high", "medium", "low", "varies_by_cvss"]

# rule_id and category become label values and (CamelCased) alert names: keep them tame.
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
DURATION = r"^(\d+(ms|s|m|h|d|w|y))+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateAlert(_Strict):
    """``create_alert``: title, message and remediation, each a ``{{data.x}}`` template."""

    title: str = Field(min_length=1)
    message: str = ""
    remediation: str = ""


class Notify(_Strict):
    """``notify``: channel names (routed by Alertmanager/bridge) and an escalation policy."""

    channels: list[str] = Field(default_factory=list)
    escalation: str = Field(default="standard", pattern=IDENTIFIER)


class Metadata(_Strict):
    """``metadata``: classification carried into alert annotations."""

    cwe_id: str | None = Field(default=None, pattern=r"^CWE-\d+$")
    owasp_category: str | None = None
    compliance_frameworks: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    runbook_url: str | None = None


class RuleDocument(_Strict):
    """One rule as written in ``rules/**/*.yaml``; ``kind`` and ``for`` are secmon additions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    rule_id: str = Field(pattern=IDENTIFIER, max_length=100)
    name: str = Field(min_length=1)
    severity: RuleSeverity
    category: str = Field(pattern=IDENTIFIER)
    description: str = ""
    kind: RuleKind | None = None
    for_: str | None = Field(default=None, alias="for", pattern=DURATION)
    conditions: list[Any] = Field(min_length=1)
    dynamic_severity: dict[Severity, str] | None = None
    actions: list[Any] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=Metadata)

    @model_validator(mode="after")
    def _severity_bands(self) -> Self:
        if self.severity == "varies_by_cvss" and not self.dynamic_severity:
            raise ValueError("severity varies_by_cvss needs a dynamic_severity block")
        if self.severity != "varies_by_cvss" and self.dynamic_severity:
            raise ValueError("dynamic_severity is only allowed with severity: varies_by_cvss")
        return self
