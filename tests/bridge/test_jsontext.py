"""The store's JSON text helpers: same values back as the standard library reads them."""

from __future__ import annotations

import json

import pytest

from bridge.jsontext import dumps, loads

SAMPLES = [
    {"reasons": [{"factor": "asset", "effect": "+1", "detail": "edge-gw is critical"}]},
    {"nested": {"a": [1, 2.5, None, True]}, "unicode": "Zürich ✓", "quote": 'say "hi"\n'},
    [],
    {},
    "plain",
    12345678901234567890,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_round_trip_matches_the_standard_library(value: object) -> None:
    text = dumps(value)
    assert isinstance(text, str)
    assert json.loads(text) == value
    assert loads(text) == value
    assert loads(json.dumps(value)) == value


def test_unserialisable_values_are_refused() -> None:
    with pytest.raises(ValueError, match="Unable to serialize"):
        dumps({"x": object()})
