"""Compiled rules, rule sets and the problems a load reports."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.detection.expressions import Predicate
from exporter.detection.schema import (
    CreateAlert,
    Metadata,
    Notify,
    RuleKind,
    RuleSeverity,
    Severity,
)
from exporter.events import Event


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One thing wrong in one rule file; ``line`` is 1-based."""

    file: str
    line: int | None
    rule_id: str | None
    expression: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        rule = f" [{self.rule_id}]" if self.rule_id else ""
        text = f"{where}:{rule} {self.message}"
        if self.expression is not None:
            text += f"\n    expression: {self.expression}"
        return text


class RuleLoadError(Exception):
    """Every problem found in every file of one load, reported together."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in detection rules"
        return "\n".join([head, *(str(p) for p in self.problems)])


@dataclass(frozen=True, slots=True)
class LabelField:
    """A ``{{data.x}}`` template reference, exported as label ``label`` on rule metrics."""

    label: str
    path: str
    get: Callable[[Event], Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class ConditionalActions:
    """``if_severity_<level>`` actions: apply only to matches of that severity."""

    notify: Notify | None
    others: tuple[Any, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """A rule ready to evaluate: conditions compiled once, index keys pulled out."""

    rule_id: str
    name: str
    severity: RuleSeverity
    category: str
    description: str
    kind: RuleKind
    for_: str | None
    matcher: Predicate
    sources: frozenset[str] | None
    event_types: frozenset[str] | None
    severity_bands: tuple[tuple[Severity, Predicate], ...]
    label_fields: tuple[LabelField, ...]
    alert: CreateAlert | None
    notify: Notify | None
    conditional: Mapping[Severity, ConditionalActions]
    other_actions: tuple[Any, ...]
    metadata: Metadata
    file: str
    line: int

    @property
    def dynamic(self) -> bool:
        return bool(self.severity_bands)

    def severity_for(self, event: Event) -> Severity:
        """Static severity, or the first band (critical → low) whose condition holds."""
        for level, holds in self.severity_bands:
            if holds(event):
                return level
        # A CVSS band table with a gap should not drop the finding: report it as low.
        return "low" if self.severity == "varies_by_cvss" else self.severity


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An immutable, ordered collection of rules with unique ids."""

    rules: tuple[Rule, ...] = ()

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.rules)
