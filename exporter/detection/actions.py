"""A rule's ``actions`` list: ``create_alert`` and ``notify`` shape the alert itself; the rest
(``trigger_audit``, ``trigger_compliance_check``, ``create_vulnerability_record``) travel to the
bridge as JSON in the ``actions`` annotation. ``if_severity_<level>`` wraps actions that apply
only to matches of that severity (for ``varies_by_cvss`` rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from exporter.detection.conditions import ConditionProblem, Path
from exporter.detection.model import ConditionalActions
from exporter.detection.schema import SEVERITIES, CreateAlert, Notify, Severity

M = TypeVar("M", bound=BaseModel)

PASS_THROUGH = frozenset(
    {"trigger_audit", "trigger_compliance_check", "create_vulnerability_record"}
)
_CONDITIONAL = {f"if_severity_{level}": level for level in SEVERITIES}


@dataclass(slots=True)
class ParsedActions:
    alert: CreateAlert | None = None
    notify: Notify | None = None
    conditional: dict[Severity, ConditionalActions] = field(default_factory=dict)
    others: list[Any] = field(default_factory=list)
    problems: list[ConditionProblem] = field(default_factory=list)


def _split(item: Any) -> tuple[str, Any] | None:
    """An action is a bare name or a one-key mapping ``name: params``."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and len(item) == 1:
        ((name, params),) = item.items()
        return str(name), params
    return None


def _model(cls: type[M], params: Any, path: Path, problems: list[ConditionProblem]) -> M | None:
    try:
        return cls.model_validate(params if params is not None else {})
    except ValidationError as exc:
        for err in exc.errors():
            loc = (*path, *err["loc"])
            problems.append(ConditionProblem(loc, f"{'.'.join(map(str, loc[2:]))}: {err['msg']}"))
        return None


def parse_actions(items: list[Any], path: Path = ("actions",)) -> ParsedActions:
    """Parse the top-level list; every problem is collected with its YAML path."""
    out = ParsedActions()
    for i, item in enumerate(items):
        at = (*path, i)
        split = _split(item)
        if split is None:
            out.problems.append(
                ConditionProblem(at, "an action is a name or a single 'name: {…}' mapping")
            )
            continue
        name, params = split
        if name == "create_alert":
            if out.alert is not None:
                out.problems.append(ConditionProblem(at, "only one create_alert action per rule"))
            out.alert = _model(CreateAlert, params, (*at, name), out.problems) or out.alert
        elif name == "notify":
            if out.notify is not None:
                out.problems.append(ConditionProblem(at, "only one notify action per rule"))
            out.notify = _model(Notify, params, (*at, name), out.problems) or out.notify
        elif name in _CONDITIONAL:
            out.conditional[_CONDITIONAL[name]] = _conditional(params, (*at, name), out.problems)
            out.others.append(item)
        elif name in PASS_THROUGH:
            if params is not None and not isinstance(params, dict):
                out.problems.append(
                    ConditionProblem((*at, name), f"{name} takes a mapping of parameters")
                )
            out.others.append(item)
        else:
            known = ", ".join(
                sorted({"create_alert", "notify", *PASS_THROUGH, "if_severity_<level>"})
            )
            out.problems.append(ConditionProblem(at, f"unknown action {name!r} (known: {known})"))
    return out


def _conditional(params: Any, path: Path, problems: list[ConditionProblem]) -> ConditionalActions:
    # Both "if_severity_x: {notify: …}" (the seed) and "if_severity_x: [- notify: …]" are accepted.
    if isinstance(params, dict):
        entries: list[tuple[Path, Any]] = [((*path, str(k)), {k: v}) for k, v in params.items()]
    elif isinstance(params, list):
        entries = [((*path, i), v) for i, v in enumerate(params)]
    else:
        problems.append(
            ConditionProblem(path, "if_severity_<level> holds a mapping or list of actions")
        )
        return ConditionalActions(notify=None, others=())
    notify: Notify | None = None
    others: list[Any] = []
    for at, item in entries:
        split = _split(item)
        if split is None:
            problems.append(
                ConditionProblem(at, "an action is a name or a single 'name: {…}' mapping")
            )
        elif split[0] == "notify":
            notify = _model(Notify, split[1], at, problems)
        elif split[0] in PASS_THROUGH:
            others.append(item)
        else:
            problems.append(
                ConditionProblem(at, f"action {split[0]!r} is not allowed inside {path[-1]}")
            )
    return ConditionalActions(notify=notify, others=tuple(others))
