"""The exporter's live detection state, rendered as metrics on every scrape.

Emits (``<fields>`` are exactly the ``data.`` fields the rule's templates reference)::

    secmon_rule_violation{rule_id,severity,category,platform,asset,environment,<fields>} 1
    secmon_rule_matches_total{rule_id,severity,category,platform,asset,environment,<fields>} 3
    secmon_rule_info{rule_id,name,category,severity} 1
    secmon_rules_loaded 40
    secmon_rule_evaluation_errors_total{rule_id} 0

``update()`` runs on the collector loop and ``collect()`` on the HTTP thread: updates build new
immutable structures and swap them in under a lock, so a scrape never sees half an update.
``version()`` changes with every update, so :mod:`exporter.exposition` renders these families
once per update instead of once per scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from exporter.detection.engine import Engine, SeriesKey, label_names
from exporter.detection.loader import load_rules
from exporter.detection.model import RuleSet
from exporter.events import Event


class DetectionState:
    """Current violations per collector, cumulative change matches, and rule metadata."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.engine = Engine(rules)
        self._names = {r.rule_id: label_names(r) for r in rules}
        self._lock = threading.Lock()
        self._violations: Mapping[str, frozenset[SeriesKey]] = {}
        self._matches: Mapping[SeriesKey, int] = {}
        self._errors: Mapping[str, int] = dict.fromkeys(self._names, 0)
        self._version = 0

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path]) -> DetectionState:
        return cls(load_rules(paths))

    def update(self, collector: str, events: Sequence[Event]) -> None:
        """Apply one successful poll of ``collector``: its violations are replaced wholesale."""
        result = self.engine.evaluate(events)
        violations = frozenset(result.violations)
        with self._lock:
            self._violations = {**self._violations, collector: violations}
            if result.matches:
                matches = dict(self._matches)
                for key, count in result.matches.items():
                    matches[key] = matches.get(key, 0) + count
                self._matches = matches
            if result.errors:
                errors = dict(self._errors)
                for rule_id, count in result.errors.items():
                    errors[rule_id] = errors.get(rule_id, 0) + count
                self._errors = errors
            self._version += 1

    def version(self) -> int:
        """Changes after every update (see :class:`exporter.exposition.Versioned`)."""
        return self._version

    def violations(self) -> frozenset[SeriesKey]:
        """Every current violation, across collectors."""
        with self._lock:
            current = self._violations
        return frozenset().union(*current.values())

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            violations, matches, errors = self._violations, self._matches, self._errors
        return self._families(frozenset().union(*violations.values()), matches, errors)

    def _families(
        self,
        violations: frozenset[SeriesKey] = frozenset(),
        matches: Mapping[SeriesKey, int] | None = None,
        errors: Mapping[str, int] | None = None,
    ) -> list[Metric]:
        gauge = GaugeMetricFamily(
            "secmon_rule_violation", "1 while a state rule's condition holds for an asset."
        )
        for key in sorted(violations):
            gauge.add_sample(
                "secmon_rule_violation", dict(zip(self._names[key[0]], key, strict=True)), 1
            )
        counter = CounterMetricFamily(
            "secmon_rule_matches", "Change events that matched a rule, since the exporter started."
        )
        for key, count in sorted((matches or {}).items()):
            counter.add_sample(
                "secmon_rule_matches_total", dict(zip(self._names[key[0]], key, strict=True)), count
            )
        info = InfoMetricFamily("secmon_rule", "Loaded detection rules.")
        for rule in self.rules:
            info.add_metric(
                [],
                {
                    "rule_id": rule.rule_id,
                    "name": rule.name,
                    "category": rule.category,
                    "severity": rule.severity,
                },
            )
        loaded = GaugeMetricFamily(
            "secmon_rules_loaded", "Detection rules loaded.", value=len(self.rules)
        )
        failed = CounterMetricFamily(
            "secmon_rule_evaluation_errors",
            "Rule evaluations that raised on an event (the event counted as no match).",
            labels=["rule_id"],
        )
        for rule_id, count in sorted((errors or {}).items()):
            failed.add_metric([rule_id], count)
        return [gauge, counter, info, loaded, failed]
