"""A rule's ``conditions`` list compiled to one predicate plus the keys the engine indexes on.

A list means AND. Items are expression strings (``data.port IN [8001, 8444]``), field
mappings (``source: kong_monitor``; a list value means any of them) or ``OR:`` / ``AND:`` /
``NOT:`` blocks holding nested lists. Top-level ``source:`` and ``event_type:`` items become
index keys instead of predicates: the engine only offers a rule the events they admit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.detection.expressions import (
    EVENT_FIELDS,
    ExpressionError,
    Predicate,
    all_of,
    any_of,
    bind,
    compile_expression,
    equals,
    make_getter,
    member_of,
)

Path = tuple[str | int, ...]
_BLOCKS = {"OR": any_of, "AND": all_of}
_INDEXED = ("source", "event_type")


@dataclass(frozen=True, slots=True)
class ConditionProblem:
    path: Path
    message: str
    expression: str | None = None


@dataclass(slots=True)
class CompiledConditions:
    predicate: Predicate
    sources: frozenset[str] | None = None
    event_types: frozenset[str] | None = None
    problems: list[ConditionProblem] = field(default_factory=list)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[ConditionProblem] = []

    def items(self, items: Any, path: Path) -> list[Predicate]:
        if isinstance(items, str | dict):
            items = [items]  # "OR: data.a == 1" written without a list
        if not isinstance(items, list) or not items:
            self.problems.append(ConditionProblem(path, "expected a non-empty list of conditions"))
            return []
        preds: list[Predicate] = []
        for i, item in enumerate(items):
            pred = self.item(item, (*path, i))
            if pred is not None:
                preds.append(pred)
        return preds

    def item(self, item: Any, path: Path) -> Predicate | None:
        if isinstance(item, str):
            try:
                return compile_expression(item)
            except ExpressionError as exc:
                where = f" (column {exc.column})" if exc.column else ""
                self.problems.append(ConditionProblem(path, f"{exc}{where}", item))
                return None
        if not isinstance(item, dict) or len(item) != 1:
            self.problems.append(
                ConditionProblem(
                    path,
                    "a condition is an expression string, a single 'field: value' mapping, "
                    f"or an OR:/AND:/NOT: block, not {_describe(item)}",
                )
            )
            return None
        ((key, value),) = item.items()
        key_text = str(key)
        if key_text in _BLOCKS or key_text == "NOT":
            preds = self.items(value, (*path, key_text))
            if key_text == "NOT":
                inner = all_of(preds)
                return lambda ev: not inner(ev)
            return _BLOCKS[key_text](preds)
        if key_text in EVENT_FIELDS:
            values = value if isinstance(value, list) else [value]
            if not values or not all(_scalar(v) for v in values):
                self.problems.append(
                    ConditionProblem(
                        (*path, key_text), f"{key_text}: needs a value or a list of values"
                    )
                )
                return None
            getter = make_getter(key_text)
            test = equals(values[0]) if len(values) == 1 else member_of(values)
            return bind(getter, test)
        hint = ""
        if key_text.startswith("data.") and _scalar(value):
            hint = f' (write it as an expression: {key_text} == "{value}")'
        self.problems.append(
            ConditionProblem(path, f"unknown condition key {key_text!r}{hint}", f"{key}: {value}")
        )
        return None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"a mapping with {len(value)} keys"
    return f"{type(value).__name__} {value!r}"[:80]


def _index_key(item: Any) -> tuple[str, frozenset[str]] | None:
    """``source: x`` / ``event_type: [a, b]`` at the top level, with only string values."""
    if not isinstance(item, dict) or len(item) != 1:
        return None
    ((key, value),) = item.items()
    if key not in _INDEXED:
        return None
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        return None
    return str(key), frozenset(values)


def compile_conditions(
    conditions: Sequence[Any], path: Path = ("conditions",)
) -> CompiledConditions:
    """Compile a top-level ``conditions`` list; problems are collected, never raised."""
    compiler = _Compiler()
    index: dict[str, frozenset[str]] = {}
    rest: list[Any] = []
    rest_paths: list[Path] = []
    for i, item in enumerate(conditions):
        key = _index_key(item)
        if key is not None:
            name, values = key
            # Two source: items mean both must hold: intersect, as AND would.
            index[name] = index[name] & values if name in index else values
        else:
            rest.append(item)
            rest_paths.append((*path, i))
    preds = [
        p
        for item, p_path in zip(rest, rest_paths, strict=True)
        if (p := compiler.item(item, p_path))
    ]
    return CompiledConditions(
        predicate=all_of(preds),
        sources=index.get("source"),
        event_types=index.get("event_type"),
        problems=compiler.problems,
    )
