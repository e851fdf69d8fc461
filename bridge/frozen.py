"""``@frozen``: the bridge's immutable records, checked by mypy, cheap to build at run time.

A ``dataclass(frozen=True)`` sets every field in ``__init__`` through ``object.__setattr__``,
which makes building one about ten times slower than a plain dataclass (4.0 against 0.35 µs
for 34 fields on the benchmark machine). The pipeline builds dozens of records per alert, so
that cost was 8-12% of the bridge's CPU under load (docs/benchmarks.md, ninth session).

``@frozen`` gives a class the plain slotted dataclass at run time, with ``__eq__`` and
``__hash__`` over its fields as a frozen one has, while type checkers treat it as frozen
(``dataclass_transform(frozen_default=True)``): assigning to a field is a mypy error, so the
records stay immutable in practice. ``dataclasses.replace`` and ``field`` work as usual.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T]) -> type[T]:
    return dataclasses.dataclass(slots=True, unsafe_hash=True)(cls)
