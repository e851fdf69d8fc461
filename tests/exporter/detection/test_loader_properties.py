"""Property: whatever is in a rule file, the loader loads it or reports RuleLoadError."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.detection import RuleLoadError, RuleSet, load_rules
from exporter.detection.expressions import ExpressionError, compile_expression
from tests.exporter.detection.factories import RULES_DIR, event

SEED_DOCS = [
    yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted(RULES_DIR.rglob("*.yaml"))
    if p.parent.name in {"kong", "github", "aws", "vulnerabilities"}
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["critical", "varies_by_cvss", "data.x == 1", "{{data.x}}", "OR", "source"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(["OR", "AND", "NOT"])),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


def load_text(text: str) -> RuleSet | RuleLoadError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_rules([path])
        except RuleLoadError as exc:
            error = exc
    assert error.problems
    assert all(p.file == str(path) for p in error.problems)
    assert str(error)  # rendering must not fail either
    return error


fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    load_text(text)


@fuzz
@given(values)
def test_arbitrary_yaml_documents(doc: Any) -> None:
    load_text(yaml.safe_dump(doc))


@fuzz
@given(
    st.sampled_from(SEED_DOCS),
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "rule_id",
                    "name",
                    "severity",
                    "category",
                    "description",
                    "conditions",
                    "actions",
                    "metadata",
                    "dynamic_severity",
                    "kind",
                    "for",
                    "extra",
                ]
            ),
            values,
        ),
        max_size=3,
    ),
)
def test_mutated_seed_rules(doc: dict[str, Any], changes: list[tuple[str, Any]]) -> None:
    mutated = dict(doc)
    for key, value in changes:
        mutated[key] = value
    load_text(yaml.safe_dump(mutated, sort_keys=False))


@fuzz
@given(
    st.lists(
        st.sampled_from(
            [
                "data.x",
                "data.y.z",
                "source",
                "==",
                "!=",
                ">=",
                "<",
                "IN",
                "NOT",
                "CONTAINS",
                "MATCHES",
                "EXISTS",
                "AND",
                "OR",
                "(",
                ")",
                "[",
                "]",
                ",",
                '"a"',
                "'(b'",
                "1",
                "2.5",
                "true",
                "null",
                "asset",
            ]
        ),
        max_size=12,
    ),
    st.dictionaries(st.sampled_from(["x", "y"]), values, max_size=2),
)
def test_expressions_parse_or_fail_cleanly_and_never_raise_on_events(
    tokens: list[str], data: dict[str, Any]
) -> None:
    try:
        predicate = compile_expression(" ".join(tokens))
    except ExpressionError:
        return
    assert predicate(event(**data)) in (True, False)


def test_recursive_alias_and_deep_nesting() -> None:
    cyclic = load_text("rule_id: x\nconditions: &c\n  - OR: *c\n")
    assert isinstance(cyclic, RuleLoadError)
    deep = load_text("conditions: " + "[" * 5000 + "]" * 5000 + "\n")
    assert isinstance(deep, RuleLoadError)
