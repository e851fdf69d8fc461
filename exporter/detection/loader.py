"""Load rule files: YAML → structure check (pydantic) → compiled :class:`Rule` objects.

Every problem in every file is collected and raised together as one :class:`RuleLoadError`,
each with the file, the line, the rule id and the offending expression, so ``rules check``
shows an author everything to fix in one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from exporter.detection.actions import parse_actions
from exporter.detection.conditions import ConditionProblem, compile_conditions
from exporter.detection.expressions import ExpressionError, compile_expression, make_getter
from exporter.detection.model import LabelField, Rule, RuleLoadError, RuleProblem, RuleSet
from exporter.detection.schema import SEVERITIES, RuleDocument, RuleKind
from exporter.detection.templates import TemplateError, label_name, references

RULE_SUFFIXES = (".yaml", ".yml")


def rule_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[RuleProblem]]:
    """Expand directories (recursively, sorted) into rule files; report missing paths."""
    files: list[Path] = []
    problems: list[RuleProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(RuleProblem(str(path), None, None, None, "no such file or directory"))
    return files, problems


def _line_of(node: yaml.Node | None, loc: Iterable[str | int]) -> int | None:
    """1-based line of the deepest YAML node reachable along ``loc``."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _rule_kind(doc: RuleDocument, event_types: frozenset[str] | None) -> RuleKind:
    """Explicit ``kind:`` wins; otherwise ``*_change`` category or event type means change."""
    if doc.kind is not None:
        return doc.kind
    names = [doc.category, *(event_types or ())]
    return "change" if any(n.endswith("_change") for n in names) else "state"


class _FileLoader:
    def __init__(self, file: Path) -> None:
        self.file = str(file)
        self.problems: list[RuleProblem] = []
        self.rules: list[Rule] = []

    def problem(
        self, line: int | None, rule_id: str | None, message: str, expr: str | None = None
    ) -> None:
        self.problems.append(RuleProblem(self.file, line, rule_id, expr, message))

    def load(self) -> None:
        try:
            text = Path(self.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(None, None, f"cannot read file: {exc}")
            return
        try:
            nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem(mark.line + 1 if mark else None, None, f"invalid YAML: {exc}")
            return
        except RecursionError:
            self.problem(None, None, "invalid YAML: nested too deeply")
            return
        for node in nodes:
            if node is None:
                continue  # an empty document between two '---'
            try:
                self.document(node)
            except RecursionError:
                self.problem(
                    node.start_mark.line + 1, None, "document nested too deeply (recursive alias?)"
                )

    def document(self, node: yaml.Node) -> None:
        line = node.start_mark.line + 1
        try:
            data = yaml.SafeLoader("").construct_document(node)
        except yaml.YAMLError as exc:
            self.problem(line, None, f"invalid YAML: {exc}")
            return
        if data is None:
            return  # an empty document, e.g. after a trailing '---'
        if not isinstance(data, dict):
            self.problem(line, None, f"a rule document is a mapping, not {type(data).__name__}")
            return
        rule_id = data.get("rule_id") if isinstance(data.get("rule_id"), str) else None
        try:
            doc = RuleDocument.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "rule"
                self.problem(_line_of(node, err["loc"]), rule_id, f"{field}: {err['msg']}")
            return
        rule = self.compile(doc, node)
        if rule is not None:
            self.rules.append(rule)

    def compile(self, doc: RuleDocument, node: yaml.Node) -> Rule | None:
        before = len(self.problems)

        def report(p: ConditionProblem) -> None:
            self.problem(_line_of(node, p.path), doc.rule_id, p.message, p.expression)

        conditions = compile_conditions(doc.conditions)
        actions = parse_actions(doc.actions)
        for p in (*conditions.problems, *actions.problems):
            report(p)
        bands = []
        for level in SEVERITIES:  # most severe first, whatever order the file uses
            expr = (doc.dynamic_severity or {}).get(level)
            if expr is None:
                continue
            try:
                bands.append((level, compile_expression(expr)))
            except ExpressionError as exc:
                report(ConditionProblem(("dynamic_severity", level), str(exc), expr))
        fields: dict[str, LabelField] = {}
        templates: list[tuple[tuple[str | int, ...], str]] = []
        if actions.alert is not None:
            base: tuple[str | int, ...] = (
                "actions",
                _action_index(doc.actions, "create_alert"),
                "create_alert",
            )
            alert = actions.alert
            templates = [
                ((*base, k), v)
                for k, v in (
                    ("title", alert.title),
                    ("message", alert.message),
                    ("remediation", alert.remediation),
                )
            ]
        for where, text in templates:
            try:
                for path in references(text):
                    label = label_name(path)
                    other = fields.get(label)
                    if other is not None and other.path != path:
                        raise TemplateError(
                            f"{path} and {other.path} would both be label {label!r}"
                        )
                    fields[label] = LabelField(label, path, make_getter(path))
            except (TemplateError, ExpressionError) as exc:
                report(ConditionProblem(where, str(exc), text))
        if len(self.problems) > before:
            return None
        return Rule(
            rule_id=doc.rule_id,
            name=doc.name,
            severity=doc.severity,
            category=doc.category,
            description=doc.description,
            kind=_rule_kind(doc, conditions.event_types),
            for_=doc.for_,
            matcher=conditions.predicate,
            sources=conditions.sources,
            event_types=conditions.event_types,
            severity_bands=tuple(bands),
            label_fields=tuple(sorted(fields.values(), key=lambda f: f.label)),
            alert=actions.alert,
            notify=actions.notify,
            conditional=actions.conditional,
            other_actions=tuple(actions.others),
            metadata=doc.metadata,
            file=self.file,
            line=node.start_mark.line + 1,
        )


def _action_index(actions: list[Any], name: str) -> int:
    for i, item in enumerate(actions):
        if isinstance(item, dict) and name in item:
            return i
    return 0


def load_rules(paths: Sequence[str | Path]) -> RuleSet:
    """Load every rule under ``paths``; raise :class:`RuleLoadError` listing all problems."""
    files, problems = rule_files(paths)
    rules: list[Rule] = []
    for file in files:
        loader = _FileLoader(file)
        loader.load()
        problems.extend(loader.problems)
        rules.extend(loader.rules)
    seen: dict[str, Rule] = {}
    for rule in rules:
        first = seen.setdefault(rule.rule_id, rule)
        if first is not rule:
            problems.append(
                RuleProblem(
                    rule.file,
                    rule.line,
                    rule.rule_id,
                    None,
                    f"duplicate rule_id, first defined at {first.file}:{first.line}",
                )
            )
    if problems:
        raise RuleLoadError(problems)
    return RuleSet(tuple(rules))
