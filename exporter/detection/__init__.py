"""Detection: the seed's YAML rule language, evaluated in the exporter and compiled for Prometheus.

``load_rules`` reads ``rules/**/*.yaml``; ``DetectionState`` evaluates collector events and
renders ``secmon_rule_*`` metrics; ``compile_rules`` turns the same rules into Prometheus
alerting rules that fire on those metrics.
"""

from exporter.detection.compiler import alert_name, compile_rules, compile_rules_yaml
from exporter.detection.engine import Engine
from exporter.detection.loader import load_rules
from exporter.detection.model import Rule, RuleLoadError, RuleProblem, RuleSet
from exporter.detection.state import DetectionState

__all__ = [
    "DetectionState",
    "Engine",
    "Rule",
    "RuleLoadError",
    "RuleProblem",
    "RuleSet",
    "alert_name",
    "compile_rules",
    "compile_rules_yaml",
    "load_rules",
]
