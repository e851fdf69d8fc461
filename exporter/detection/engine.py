"""Evaluate compiled rules over events: the detection hot path.

Rules are indexed by ``(source, event_type)``; the candidates for a pair are computed once and
cached, so an event only meets the few rules that can match it, and a rule's ``source:`` and
``event_type:`` conditions are never re-checked per event.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from exporter.detection.expressions import MISSING
from exporter.detection.model import Rule, RuleSet
from exporter.events import Event

log = logging.getLogger(__name__)

BASE_LABELS: Final = ("rule_id", "severity", "category", "platform", "asset", "environment")
# Long values (a JSON blob a template happened to reference) would bloat every scrape.
MAX_LABEL_VALUE: Final = 256

SeriesKey = tuple[str, ...]
"""Label values in the order of :func:`label_names` for the rule named by the first value."""


def label_names(rule: Rule) -> tuple[str, ...]:
    return BASE_LABELS + tuple(f.label for f in rule.label_fields)


def label_value(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value[:MAX_LABEL_VALUE]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)[:MAX_LABEL_VALUE]


def series_key(rule: Rule, event: Event) -> SeriesKey:
    severity = rule.severity_for(event)
    base = (rule.rule_id, severity, rule.category, event.platform, event.asset, event.environment)
    if not rule.label_fields:
        return base
    return base + tuple(label_value(f.get(event)) for f in rule.label_fields)


@dataclass(slots=True)
class Evaluation:
    """What one batch of events produced."""

    violations: set[SeriesKey] = field(default_factory=set)
    matches: Counter[SeriesKey] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


class Engine:
    """Matches events against a rule set; safe to share between threads (the cache only grows)."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._candidates: dict[tuple[str, str], tuple[Rule, ...]] = {}

    def candidates(self, source: str, event_type: str) -> tuple[Rule, ...]:
        key = (source, event_type)
        found = self._candidates.get(key)
        if found is None:
            found = tuple(
                r
                for r in self.rules
                if (r.sources is None or source in r.sources)
                and (r.event_types is None or event_type in r.event_types)
            )
            self._candidates[key] = found
        return found

    def matching(self, event: Event) -> list[Rule]:
        """Rules whose conditions hold for ``event`` (evaluation errors count as no match)."""
        return [r for r in self.candidates(event.source, event.event_type) if _holds(r, event)]

    def evaluate(self, events: Iterable[Event]) -> Evaluation:
        """State events become violations, change events become match counts."""
        result = Evaluation()
        candidates = self.candidates
        for event in events:
            for rule in candidates(event.source, event.event_type):
                try:
                    if not rule.matcher(event):
                        continue
                    key = series_key(rule, event)
                except Exception:
                    # One malformed event must not blind the other rules; it is counted.
                    log.debug("rule %s failed on %r", rule.rule_id, event, exc_info=True)
                    result.errors[rule.rule_id] += 1
                    continue
                if event.kind == "change":
                    result.matches[key] += 1
                else:
                    result.violations.add(key)
        return result


def _holds(rule: Rule, event: Event) -> bool:
    try:
        return rule.matcher(event)
    except Exception:
        log.debug("rule %s failed on %r", rule.rule_id, event, exc_info=True)
        return False
