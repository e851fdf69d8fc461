"""The similarity math and the config checks that keep bucketing complete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.dedupe import DedupeConfig, DedupeWeights, jaccard, tokens
from bridge.dedupe.similarity import Signature, explain, score

W = DedupeWeights()


def sig(**kw: str | None) -> Signature:
    fields: dict[str, str | None] = {
        "asset_id": "a",
        "event_type": "r",
        "severity": "high",
        "source": "kong",
        "title": "Kong admin API exposed",
    }
    fields.update(kw)
    return Signature.of(**fields)


def test_identical_alerts_score_the_sum_of_the_weights() -> None:
    assert score(sig(), sig(), W) == pytest.approx(1.0)


def test_each_field_adds_its_seed_weight() -> None:
    base = sig(title=None)
    assert score(base, sig(asset_id="b", title=None), W) == pytest.approx(0.25 + 0.2 + 0.15)
    assert score(base, sig(event_type="x", title=None), W) == pytest.approx(0.3 + 0.2 + 0.15)
    assert score(base, sig(severity="low", title=None), W) == pytest.approx(0.3 + 0.25 + 0.15)
    assert score(base, sig(source="aws", title=None), W) == pytest.approx(0.3 + 0.25 + 0.2)


def test_missing_fields_never_match_each_other() -> None:
    empty = Signature.of(None, None, None, None, None)
    assert score(empty, empty, W) == 0.0


def test_title_similarity_is_token_jaccard() -> None:
    assert tokens("Kong Admin-API: exposed!") == {"kong", "admin", "api", "exposed"}
    a, b = tokens("kong admin api exposed"), tokens("kong admin api closed")
    assert jaccard(a, b) == pytest.approx(3 / 5)
    assert jaccard(frozenset(), frozenset()) == 0.0
    other = sig(title="Kong admin API closed")
    assert score(sig(), other, W) == pytest.approx(0.9 + 0.1 * 3 / 5)
    assert explain(sig(), other, W)[-1] == "title token Jaccard 0.60 (+0.06)"


@given(st.text(max_size=40), st.text(max_size=40))
def test_jaccard_is_symmetric_and_bounded(x: str, y: str) -> None:
    a, b = tokens(x), tokens(y)
    assert jaccard(a, b) == jaccard(b, a)
    assert 0.0 <= jaccard(a, b) <= 1.0


def test_config_defaults_are_the_seeds() -> None:
    cfg = DedupeConfig()
    assert (cfg.threshold, cfg.window, cfg.max_candidates) == (0.8, timedelta(hours=1), 50)
    assert DedupeConfig.model_validate({"window": "PT5M"}).window_ms == 300_000


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"threshold": 1.0}, "threshold"),
        ({"window": 0}, "window"),
        ({"weights": {"title": 0.7}}, "weights"),
        ({"weights": {"asset_id": -1}}, "asset_id"),
        ({"max_candidates": 0}, "max_candidates"),
        ({"tresh": 0.5}, "tresh"),
    ],
)
def test_bad_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        DedupeConfig.model_validate(data)
