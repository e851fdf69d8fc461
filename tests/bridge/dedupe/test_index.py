"""Index semantics, identical on the in-process and the Redis backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.dedupe import DedupeConfig, DedupeIndex, build_dedupe_index
from bridge.dedupe.memory import InMemoryDedupeIndex
from bridge.dedupe.redis_index import RedisDedupeIndex
from tests.bridge.dedupe.conftest import T0, cand

CFG = DedupeConfig()


async def test_first_alert_becomes_a_primary(index: DedupeIndex) -> None:
    decision = await index.match_or_add(cand(1), CFG)
    assert decision.primary_id is None
    assert not decision.duplicate
    assert decision.reasons == ("no primary in the window shares enough to score above 0.8",)


async def test_a_primary_that_cannot_pass_the_threshold_is_not_named(index: DedupeIndex) -> None:
    # Same event type, severity and source, another asset: 0.6 + at most 0.1 for the title,
    # never above 0.8, so it is neither a match nor a near miss.
    await index.match_or_add(cand(1, asset_id="kong-a"), CFG)
    decision = await index.match_or_add(cand(2, asset_id="kong-b"), CFG)
    assert decision.primary_id is None
    assert decision.score == 0.0
    assert decision.reasons == ("no primary in the window shares enough to score above 0.8",)


async def test_same_fingerprint_takes_the_exact_path(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1), CFG)
    decision = await index.match_or_add(
        cand(2, fingerprint="fp1", asset_id="other", title="x", seen_at=T0 + timedelta(minutes=5)),
        CFG,
    )
    assert (decision.primary_id, decision.exact, decision.score) == (1, True, 1.0)


async def test_similar_alert_merges_into_the_primary_with_reasons(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1), CFG)
    decision = await index.match_or_add(cand(2, title="Kong Admin API reachable over HTTP"), CFG)
    assert decision.primary_id == 1
    assert not decision.exact
    assert decision.score == pytest.approx(0.9 + 0.1 * 5 / 7)
    assert decision.reasons[0] == "asset_id matches (+0.3)"
    assert decision.reasons[-1].endswith("duplicate of #1")


async def test_retried_call_for_a_primary_stays_a_primary(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1), CFG)
    again = await index.match_or_add(cand(1), CFG)
    assert again.primary_id is None


async def test_score_equal_to_threshold_is_not_a_duplicate(index: DedupeIndex) -> None:
    # asset + event type + severity = 0.75; the title adds 0.1 * 1/2 = 0.05: exactly 0.8.
    await index.match_or_add(cand(1, source="kong", title="alpha beta"), CFG)
    decision = await index.match_or_add(cand(2, source="aws", title="alpha gamma beta x"), CFG)
    assert decision.primary_id is None
    assert decision.score == pytest.approx(0.8)
    assert "not above 0.8" in decision.reasons[0]


async def test_just_above_threshold_is_a_duplicate(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1, source="kong", title="alpha beta"), CFG)
    decision = await index.match_or_add(cand(2, source="aws", title="alpha beta gamma"), CFG)
    assert decision.primary_id == 1


async def test_window_edges(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1), CFG)
    inside = await index.match_or_add(cand(2, seen_at=T0 + timedelta(hours=1)), CFG)
    assert inside.primary_id == 1
    # The window slides with the primary's last occurrence (now T0 + 1h).
    later = T0 + timedelta(hours=2, milliseconds=1)
    outside = await index.match_or_add(cand(3, seen_at=later), CFG)
    assert outside.primary_id is None


async def test_best_scoring_primary_wins(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1, severity="high", title="kong admin"), CFG)
    await index.match_or_add(cand(2, asset_id="kong-other", title="kong admin api exposed"), CFG)
    decision = await index.match_or_add(cand(3, title="kong admin api exposed"), CFG)
    # vs 1: 0.3 + 0.25 + 0.15 + 0.1 * 2/4 = 0.75; vs 2: 0.25 + 0.2 + 0.15 + 0.1 = 0.7.
    assert decision.primary_id is None
    decision = await index.match_or_add(cand(4, severity="high", title="kong admin api"), CFG)
    assert decision.primary_id == 1


async def test_forget_removes_a_primary(index: DedupeIndex) -> None:
    await index.match_or_add(cand(1), CFG)
    await index.forget(1)
    await index.forget(99)  # unknown ids are fine
    assert (await index.match_or_add(cand(2, fingerprint="fp1"), CFG)).primary_id is None
    assert (await index.match_or_add(cand(3), CFG)).primary_id == 2


async def test_unbucketed_alert_only_matches_by_fingerprint(index: DedupeIndex) -> None:
    bare = {"asset_id": None, "event_type": None}
    await index.match_or_add(cand(1, **bare), CFG)
    assert (await index.match_or_add(cand(2, **bare), CFG)).primary_id is None
    assert (await index.match_or_add(cand(3, fingerprint="fp1", **bare), CFG)).exact


async def test_buckets_keep_only_the_newest_candidates(index: DedupeIndex) -> None:
    cfg = DedupeConfig(max_candidates=2)
    for i in range(1, 4):  # three primaries on one asset, different rules and titles
        seen = T0 + timedelta(seconds=i)
        await index.match_or_add(cand(i, event_type=f"r{i}", title=f"t{i}", seen_at=seen), cfg)
    late = T0 + timedelta(seconds=10)
    # Would match primary 1 (same rule r1) but 1 fell out of the asset bucket; the rule
    # bucket still holds it.
    decision = await index.match_or_add(cand(4, event_type="r1", title="t1", seen_at=late), cfg)
    assert decision.primary_id == 1


def test_build_picks_the_backend() -> None:
    assert isinstance(build_dedupe_index(None), InMemoryDedupeIndex)
    assert isinstance(build_dedupe_index("redis://127.0.0.1:6379/15"), RedisDedupeIndex)
