"""The in-process index holds at most ``max_primaries``, dropping the least recently seen."""

from __future__ import annotations

from datetime import timedelta

from bridge.dedupe import DedupeConfig, DedupeDecision, InMemoryDedupeIndex
from tests.bridge.dedupe.conftest import T0, cand


def distinct(alert_id: int) -> dict[str, object]:
    """Fields no other alert shares: each one is a primary of its own."""
    return {
        "fingerprint": f"fp{alert_id}",
        "asset_id": f"asset-{alert_id}",
        "event_type": f"rule-{alert_id}",
        "title": f"word{alert_id}",
        "seen_at": T0 + timedelta(seconds=alert_id),
    }


async def test_the_least_recently_seen_primary_goes_first() -> None:
    cfg = DedupeConfig.model_validate({"max_primaries": 3})
    index = InMemoryDedupeIndex()

    async def fire(alert_id: int, like: int, second: int) -> DedupeDecision:
        """Alert ``alert_id`` with the fields of alert ``like``, seen at T0 + ``second``."""
        fields = {**distinct(like), "seen_at": T0 + timedelta(seconds=second)}
        return await index.match_or_add(cand(alert_id, **fields), cfg)

    for alert_id in (1, 2, 3):
        assert not (await fire(alert_id, alert_id, alert_id)).duplicate
    assert (await fire(10, 1, 4)).primary_id == 1  # 1 is now the most recently seen
    assert not (await fire(4, 4, 5)).duplicate  # over the bound: 2, the least recent, goes
    assert len(index) == 3
    assert (await fire(11, 3, 6)).primary_id == 3  # still held
    assert not (await fire(12, 2, 7)).duplicate  # dropped: its fingerprint starts anew


async def test_memory_stays_bounded_over_many_distinct_alerts() -> None:
    cfg = DedupeConfig.model_validate({"max_primaries": 100})
    index = InMemoryDedupeIndex()
    for alert_id in range(1, 5001):
        await index.match_or_add(cand(alert_id, **distinct(alert_id)), cfg)
    assert len(index) == 100
    assert len(index._fingerprints) <= 4 * 100
    assert len(index._buckets) <= 2 * 100  # no empty bucket left behind per dropped key
