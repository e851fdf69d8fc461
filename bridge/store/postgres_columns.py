"""Array parameters sent as one text each, for the statements that carry a column per array.

asyncpg encodes an array parameter element by element, with Python calls for each (the
sub-array checks alone are two ``isinstance`` calls against ``collections.abc`` types): about
0.45 µs of the bridge's CPU per text element and 0.23 µs per integer on the benchmark machine.
The pipeline's write of a pass has some fifty array elements per alert, so encoding them was
one of the largest items in the bridge's profile.

:class:`JoinedStatement` keeps a statement written with ordinary array parameters
(``$6::text[]``) and derives a second form of it that takes each of those parameters as one
text, the elements joined by the unit separator (U+001F) with NULL written as the record
separator (U+001E), and split again by PostgreSQL's ``string_to_array``:
``string_to_array($6, E'\\x1f', E'\\x1e')::text[]``. Joining is one C-level ``str.join``
per column. A value that contains either separator cannot be joined without ambiguity; then
the whole statement is sent in its array form instead, so any text is still stored exactly.
Timestamp arrays stay arrays: converting a datetime to text costs as much as asyncpg's binary
encoding of it, and PostgreSQL would parse the text again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridge.frozen import frozen

UNIT = "\x1f"  # between elements
NULL = "\x1e"  # an element that is NULL
_ARRAY_PARAMETER = re.compile(r"\$(\d+)::(text|bigint|int|float8|bool)\[\]")


def _boolean(value: object) -> str:
    return "t" if value else "f"


_FORMATS: dict[str, Callable[[Any], str]] = {
    "bigint": str,
    "int": str,
    "float8": repr,
    "bool": _boolean,
}


def joined(values: Sequence[Any], kind: str) -> str | None:
    """``values`` as one text for ``string_to_array(…, U+001F, U+001E)::kind[]``, or None
    when that would not give the same array back (a text value holding a separator)."""
    count = len(values)
    if kind == "text":
        parts = [NULL if v is None else v for v in values]
    else:
        form = _FORMATS[kind]
        parts = [NULL if v is None else form(v) for v in values]
    text = UNIT.join(parts)
    if count == 1 and not text:
        return None  # string_to_array('') is the empty array, not one empty string
    if text.count(UNIT) != max(count - 1, 0) or text.count(NULL) != values.count(None):
        return None
    return text


@frozen
class JoinedStatement:
    """A statement in its array form and its joined form, and which parameters differ."""

    arrays: str
    joined: str
    kinds: Mapping[int, str]  # 0-based parameter index -> element type, for each array

    @classmethod
    def of(cls, statement: str) -> JoinedStatement:
        kinds = {int(m[1]) - 1: m[2] for m in _ARRAY_PARAMETER.finditer(statement)}
        split = _ARRAY_PARAMETER.sub(r"string_to_array($\1, E'\\x1f', E'\\x1e')::\2[]", statement)
        return cls(arrays=statement, joined=split, kinds=kinds)

    def bind(self, arguments: Sequence[Any]) -> tuple[str, list[Any]]:
        """The statement to send with ``arguments`` (in the array form's order and types)."""
        bound = list(arguments)
        for index, kind in self.kinds.items():
            text = joined(arguments[index], kind)
            if text is None:
                return self.arrays, list(arguments)
            bound[index] = text
        return self.joined, bound
