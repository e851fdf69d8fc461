"""The classify stage's view of one store snapshot: related incidents and history counts."""

from __future__ import annotations

from bridge.classify import HistoryCounts
from bridge.pipeline.classify import MAX_RELATED, BatchContext
from bridge.store.records import ClassificationHistory


def context(
    open_alerts: list[tuple[int, str | None, str | None]],
    new_alerts: list[tuple[int, str | None, str | None]] = [],  # noqa: B006 - never changed
) -> BatchContext:
    history = ClassificationHistory(counts={("r1", "a1"): (2, 5)}, open_alerts=open_alerts)
    return BatchContext(history, new_alerts)


async def test_related_alerts_on_the_same_asset_come_first_then_the_same_rule() -> None:
    ctx = context([(1, "r1", "a9"), (2, "r2", "a1"), (3, "r1", "a1"), (4, "r3", "a8")],
                  new_alerts=[(5, "r1", "a7")])  # fmt: skip
    # Same asset (newest first), then same rule; itself excluded, each alert once.
    assert await ctx.related_open("r1", "a1", exclude_id=3) == [2, 5, 1]


async def test_related_alerts_stop_at_the_bound_even_for_a_busy_rule() -> None:
    busy = [(n, "r1", f"b{n}") for n in range(1, 500)]
    ctx = context([*busy, (1000, "r2", "a1")])
    related = await ctx.related_open("r1", "a1", exclude_id=499)
    assert len(related) == MAX_RELATED
    assert related == [1000, *range(498, 498 - MAX_RELATED + 1, -1)]


async def test_history_counts_the_pass_s_earlier_deliveries() -> None:
    ctx = context([])
    assert await ctx.history("r1", "a1") == HistoryCounts(last_7d=2, last_30d=5)
    later = ctx.for_delivery({("r1", "a1"): 3})
    assert await later.history("r1", "a1") == HistoryCounts(last_7d=5, last_30d=8)
    assert await later.history("r2", "a1") == HistoryCounts(last_7d=0, last_30d=0)


async def test_an_alert_both_stored_and_new_is_related_once() -> None:
    """A pass run again after its write finds its alerts stored and new at once."""
    ctx = context([(7, "r1", "a7"), (6, "r1", "a6")], new_alerts=[(7, "r1", "a7"), (8, "r1", "a8")])
    assert await ctx.related_open("r1", "a8", exclude_id=8) == [7, 6]
    assert await ctx.related_open("r1", "a7", exclude_id=8) == [7, 6]
