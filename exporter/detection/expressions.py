"""The seed's condition expressions, parsed once and compiled to closures over :class:`Event`.

Grammar (keywords upper case, as the seed writes them)::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" expr ")" | comparison
    comparison := path ("==" | "!=" | ">=" | ">" | "<=" | "<") literal
                | path ["NOT"] ("IN" list | "CONTAINS" literal | "MATCHES" string | "EXISTS")
    path       := data.<field>[.<field>…] | source | event_type | platform | asset
                | environment | kind
    literal    := "string" | 'string' | number | true | false | null

Evaluation never raises for well-formed events: a missing field makes ``==``, ``IN``,
``CONTAINS``, ``MATCHES``, ``EXISTS`` and the orderings false, and their negations true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any, Final

from exporter.events import Event

Predicate = Callable[[Event], bool]
ValueTest = Callable[[Any], bool]
Getter = Callable[[Event], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
EVENT_FIELDS: Final = frozenset(
    {"source", "event_type", "platform", "asset", "environment", "kind"}
)


class ExpressionError(ValueError):
    """An expression that cannot be parsed; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))
    | (?P<op>==|!=|>=|<=|>|<|\[|\]|,|\(|\))
    | (?P<word>[A-Za-z_][\w\-]*(?:\.[\w\-]+)*)
    )""",
    re.VERBOSE,
)
_KEYWORDS: Final = frozenset({"AND", "OR", "NOT", "IN", "CONTAINS", "EXISTS", "MATCHES"})
_ESCAPE = re.compile(r"\\(.)")
_ORDERINGS: Final = frozenset({">=", ">", "<=", "<"})


def _unescape(raw: str) -> str:
    # Only quote and backslash escapes are special, so regexes like "\d+" survive unchanged.
    return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in "\"'\\" else m.group(0), raw[1:-1])


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExpressionError(f"unexpected character {text[col - 1]!r}", col)
        kind, raw, col = m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup) + 1
        if kind == "str":
            tokens.append(("lit", _unescape(raw), col))
        elif kind == "num":
            tokens.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw), col))
        elif kind == "op":
            tokens.append(("op", raw, col))
        elif raw in _KEYWORDS:
            tokens.append(("kw", raw, col))
        elif raw.lower() in ("true", "false"):
            tokens.append(("lit", raw.lower() == "true", col))
        elif raw.lower() in ("null", "none"):
            tokens.append(("lit", None, col))
        else:
            tokens.append(("path", raw, col))
        pos = m.end()
    return tokens


def make_getter(path: str) -> Getter:
    """A fast accessor for ``data.a.b`` or a top-level event field; rejects unknown roots."""
    parts = path.split(".")
    root = parts[0]
    if root == "data":
        if len(parts) < 2:
            raise ExpressionError("'data' needs a field name, as in data.protocol")
        rest = tuple(parts[1:])
        if len(rest) == 1:
            key = rest[0]
            return lambda ev: ev.data.get(key, MISSING)

        def nested(ev: Event) -> Any:
            value: Any = ev.data
            for part in rest:
                if not isinstance(value, Mapping):
                    return MISSING
                value = value.get(part, MISSING)
            return value

        return nested
    if root in EVENT_FIELDS and len(parts) == 1:
        return attrgetter(root)
    known = ", ".join(sorted(EVENT_FIELDS))
    raise ExpressionError(f"unknown field {path!r}: use data.<field> or one of {known}")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def equals(literal: Any) -> ValueTest:
    """Equality with the leniency collectors need: ``8001`` matches ``"8001"`` and vice versa."""
    if literal is None:
        return lambda v: v is None
    if isinstance(literal, bool):
        word = "true" if literal else "false"
        return lambda v: v is literal or (isinstance(v, str) and v.lower() == word)
    if isinstance(literal, int | float):
        return lambda v: (
            (v == literal and not isinstance(v, bool))
            or (isinstance(v, str) and _as_number(v) == literal)
        )
    text = str(literal)
    return lambda v: (
        v == text
        or (isinstance(v, int | float) and not isinstance(v, bool) and _as_number(text) == v)
    )


def member_of(literals: Sequence[Any]) -> ValueTest:
    """``IN``: set lookups, with the same string/number leniency as :func:`equals`."""
    strings = frozenset(x for x in literals if isinstance(x, str))
    numbers = frozenset(
        x for x in literals if isinstance(x, int | float) and not isinstance(x, bool)
    )
    # A numeric value matches a numeric-looking string literal ("8001"), as with ``==``.
    numbers_for_numbers = numbers | frozenset(
        n for n in (_as_number(x) for x in strings) if n is not None
    )
    others = tuple(equals(x) for x in literals if x is None or isinstance(x, bool))

    def test(v: Any) -> bool:
        if isinstance(v, str):
            if v in strings:
                return True
            if numbers:
                n = _as_number(v)
                if n is not None and n in numbers:
                    return True
        elif isinstance(v, int | float) and not isinstance(v, bool) and v in numbers_for_numbers:
            return True
        for t in others:  # noqa: SIM110 - a plain loop is measurably faster than any(genexpr)
            if t(v):
                return True
        return False

    return test


def contains(literal: Any) -> ValueTest:
    """``CONTAINS``: substring of a string, element of a list, key of a mapping."""
    eq = equals(literal)
    needle = str(literal)

    def test(v: Any) -> bool:
        if isinstance(v, str):
            return needle in v
        if isinstance(v, list | tuple | set | frozenset):
            return any(eq(x) for x in v)
        if isinstance(v, Mapping):
            return needle in v
        return False

    return test


def ordering(op: str, literal: Any) -> ValueTest:
    """``>= > <= <`` on numbers (numeric strings included) or, for a string literal, strings."""
    cmp: Callable[[Any, Any], bool] = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
    }[op]
    if isinstance(literal, str):
        return lambda v: isinstance(v, str) and cmp(v, literal)
    number = _as_number(literal)
    if number is None:
        raise ExpressionError(f"{op} needs a number or a string, not {literal!r}")

    def test(v: Any) -> bool:
        n = _as_number(v)
        return n is not None and cmp(n, number)

    return test


def matches(pattern: str) -> ValueTest:
    """``MATCHES``: ``re.search`` semantics, so anchor with ``^…$`` for a full match."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ExpressionError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return lambda v: (
        (isinstance(v, str) and rx.search(v) is not None)
        or (isinstance(v, int | float) and rx.search(str(v)) is not None)
    )


def exists(v: Any) -> bool:
    return v is not MISSING and v is not None


def bind(getter: Getter, test: ValueTest, negate: bool = False) -> Predicate:
    if negate:
        return lambda ev: not test(getter(ev))
    return lambda ev: test(getter(ev))


def all_of(preds: Sequence[Predicate]) -> Predicate:
    """Conjunction specialised for short lists: the hot path of every rule."""
    if not preds:
        return lambda ev: True
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda ev: a(ev) and b(ev)
    frozen = tuple(preds)

    def conj(ev: Event) -> bool:
        for p in frozen:  # noqa: SIM110 - hot path; a loop beats all(genexpr)
            if not p(ev):
                return False
        return True

    return conj


def any_of(preds: Sequence[Predicate]) -> Predicate:
    if not preds:
        return lambda ev: False
    if len(preds) == 1:
        return preds[0]
    frozen = tuple(preds)

    def disj(ev: Event) -> bool:
        for p in frozen:  # noqa: SIM110 - hot path; a loop beats any(genexpr)
            if p(ev):
                return True
        return False

    return disj


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.end_col = len(text) + 1

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, what: str) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError(f"expected {what}, found end of expression", self.end_col)
        self.pos += 1
        return tok

    def at(self, kind: str, value: Any) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and tok[1] == value

    def parse(self) -> Predicate:
        pred = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise ExpressionError(f"unexpected {tok[1]!r}", tok[2])
        return pred

    def or_expr(self) -> Predicate:
        preds = [self.and_expr()]
        while self.at("kw", "OR"):
            self.pos += 1
            preds.append(self.and_expr())
        return any_of(preds)

    def and_expr(self) -> Predicate:
        preds = [self.not_expr()]
        while self.at("kw", "AND"):
            self.pos += 1
            preds.append(self.not_expr())
        return all_of(preds)

    def not_expr(self) -> Predicate:
        if self.at("kw", "NOT"):
            self.pos += 1
            inner = self.not_expr()
            return lambda ev: not inner(ev)
        if self.at("op", "("):
            self.pos += 1
            pred = self.or_expr()
            tok = self.take("')'")
            if tok[1] != ")" or tok[0] != "op":
                raise ExpressionError(f"expected ')', found {tok[1]!r}", tok[2])
            return pred
        return self.comparison()

    def literal(self) -> Any:
        kind, value, col = self.take("a value")
        if kind != "lit":
            raise ExpressionError(
                f"expected a quoted string, number or boolean, not {value!r}", col
            )
        return value

    def literal_list(self) -> list[Any]:
        kind, value, col = self.take("'['")
        if (kind, value) != ("op", "["):
            raise ExpressionError(f'IN needs a list such as ["a", "b"], not {value!r}', col)
        items: list[Any] = []
        if self.at("op", "]"):
            self.pos += 1
            return items
        while True:
            items.append(self.literal())
            kind, value, col = self.take("',' or ']'")
            if (kind, value) == ("op", "]"):
                return items
            if (kind, value) != ("op", ","):
                raise ExpressionError(f"expected ',' or ']', found {value!r}", col)

    def comparison(self) -> Predicate:
        kind, path, col = self.take("a field such as data.protocol")
        if kind != "path":
            raise ExpressionError(f"expected a field such as data.protocol, found {path!r}", col)
        try:
            getter = make_getter(path)
        except ExpressionError as exc:
            raise ExpressionError(str(exc), col) from None
        kind, op, col = self.take(f"an operator after {path}")
        negate = False
        if (kind, op) == ("kw", "NOT"):
            negate = True
            kind, op, col = self.take("IN, CONTAINS, MATCHES or EXISTS after NOT")
            if op not in ("IN", "CONTAINS", "MATCHES", "EXISTS"):
                raise ExpressionError(
                    f"NOT must be followed by IN, CONTAINS, MATCHES or EXISTS, not {op!r}", col
                )
        try:
            return self._operator(kind, op, col, getter, negate)
        except ExpressionError as exc:
            raise ExpressionError(str(exc), exc.column or col) from None

    def _operator(self, kind: str, op: Any, col: int, getter: Getter, negate: bool) -> Predicate:
        if (kind, op) == ("kw", "EXISTS"):
            return bind(getter, exists, negate)
        if (kind, op) == ("kw", "IN"):
            return bind(getter, member_of(self.literal_list()), negate)
        if (kind, op) == ("kw", "CONTAINS"):
            return bind(getter, contains(self.literal()), negate)
        if (kind, op) == ("kw", "MATCHES"):
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise ExpressionError("MATCHES needs a quoted regular expression", col)
            return bind(getter, matches(pattern), negate)
        if kind == "op" and op in ("==", "!="):
            return bind(getter, equals(self.literal()), op == "!=")
        if kind == "op" and op in _ORDERINGS:
            return bind(getter, ordering(op, self.literal()))
        raise ExpressionError(
            f"expected an operator (==, !=, >=, >, <=, <, IN, NOT IN, CONTAINS, MATCHES, EXISTS), "
            f"found {op!r}",
            col,
        )


def compile_expression(text: str) -> Predicate:
    """Parse ``text`` once and return a predicate; raise :class:`ExpressionError` if invalid."""
    if not text.strip():
        raise ExpressionError("empty expression", 1)
    return _Parser(text).parse()
