"""``@frozen`` records: value semantics of a frozen dataclass, a plain slotted one's speed."""

from __future__ import annotations

import dataclasses

import pytest

from bridge.frozen import frozen


@frozen
class Point:
    x: int
    tags: tuple[str, ...] = ()
    notes: list[str] = dataclasses.field(default_factory=list, compare=False, hash=False)


def test_records_compare_and_hash_by_their_fields() -> None:
    assert Point(1, ("a",)) == Point(1, ("a",))
    assert Point(1) != Point(2)
    assert len({Point(1, ("a",)), Point(1, ("a",)), Point(2)}) == 2
    assert hash(Point(3)) == hash(Point(3, notes=["ignored"]))


def test_records_are_slotted_dataclasses() -> None:
    point = Point(1)
    assert dataclasses.is_dataclass(point)
    assert not hasattr(point, "__dict__")
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined]
    assert dataclasses.replace(point, x=5) == Point(5)
    assert Point(1).notes is not Point(1).notes  # default_factory runs per record


def test_building_a_record_skips_frozen_setattr() -> None:
    # The reason the decorator exists: no object.__setattr__ per field in __init__.
    source = Point.__init__.__code__.co_names
    assert "__setattr__" not in source
