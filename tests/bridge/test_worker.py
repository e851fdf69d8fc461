"""The pipeline worker: stages run after the 2xx, and nothing stored is ever left unprocessed.

Each test runs on both backends. The clock is injected, so "the lease ran out" is a step of
the test rather than a sleep.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.dedupe import build_dedupe_index
from bridge.metrics import BridgeMetrics
from bridge.pipeline import Batch, Pipeline, build_pipeline
from bridge.pipeline.worker import PipelineWorker
from bridge.store import AlertStore, open_store
from tests.bridge.helpers import bridge_config, make_alert, make_payload, query

RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FailOnce:
    """A stage that breaks the first time it runs (a store hiccup, a bug fixed by a restart)."""

    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    async def process(self, batch: Batch) -> Batch:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("stage broke")
        return batch


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()


def pipeline_for(store: AlertStore, database_url: str, *first: object) -> Pipeline:
    built = build_pipeline(
        bridge_config(database_url),
        store=lambda: store,
        metrics=BridgeMetrics(),
        dedupe_index=build_dedupe_index(None),
    )
    return Pipeline(stages=[*first, *built.stages])  # type: ignore[list-item]


def make_worker(store: AlertStore, pipeline: Pipeline, clock: Clock) -> PipelineWorker:
    return PipelineWorker(
        pipeline,
        store=lambda: store,
        metrics=BridgeMetrics(),
        lease=LEASE,
        sweep_interval=3600,  # sweeps are called by the tests
        clock=clock,
    )


async def record(store: AlertStore, *fingerprints: str) -> Batch:
    body = json.dumps(make_payload(*(make_alert(f) for f in fingerprints))).encode()
    delivery = to_delivery(parse_payload(body), body, received_at=RECEIVED)
    return Batch(delivery=delivery, receipts=await store.record_delivery(delivery))


async def unprocessed(database_url: str) -> int:
    rows = await query(
        database_url, "SELECT count(*) FROM alert_receipts WHERE processed_at IS NULL"
    )
    return int(rows[0][0])


async def unclassified(database_url: str) -> int:
    rows = await query(
        database_url, "SELECT count(*) FROM alert_instances WHERE classified_at IS NULL"
    )
    return int(rows[0][0])


async def created_entries(database_url: str) -> list[int]:
    rows = await query(
        database_url,
        "SELECT count(*) FROM alert_timeline WHERE kind = 'created' GROUP BY alert_id ORDER BY 1",
    )
    return [int(row[0]) for row in rows]


async def run(worker: PipelineWorker, action: Callable[[], object]) -> None:
    await worker.start()
    try:
        result = action()
        if hasattr(result, "__await__"):
            await result
        await worker.join()
    finally:
        await worker.stop()


async def test_a_failed_stage_leaves_alerts_for_the_sweep(
    store: AlertStore, database_url: str
) -> None:
    clock = Clock(RECEIVED)
    flaky = FailOnce()
    worker = make_worker(store, pipeline_for(store, database_url, flaky), clock)
    batch = await record(store, "fp-1", "fp-2")

    await run(worker, lambda: worker.offer(batch))
    assert await unprocessed(database_url) == 2
    assert await unclassified(database_url) == 2

    # Within the lease the receipts still belong to the receiving process: not claimed.
    assert await worker.sweep() == 0
    clock.now = RECEIVED + LEASE + timedelta(seconds=1)
    await run(worker, worker.sweep)
    assert flaky.calls == 2
    assert await unprocessed(database_url) == 0
    assert await unclassified(database_url) == 0
    assert await created_entries(database_url) == [1, 1]


async def test_a_restart_requeues_what_the_dead_process_stored(
    store: AlertStore, database_url: str
) -> None:
    await record(store, "fp-1")  # stored and acknowledged; the process died before the stages
    await record(store, "fp-2", "fp-3")
    clock = Clock(RECEIVED + LEASE + timedelta(seconds=1))
    worker = make_worker(store, pipeline_for(store, database_url), clock)

    await run(worker, worker.sweep)
    assert await unprocessed(database_url) == 0
    assert await unclassified(database_url) == 0
    assert await created_entries(database_url) == [1, 1, 1]


async def test_two_replicas_process_each_delivery_once(
    store: AlertStore, database_url: str
) -> None:
    other = await open_store(database_url)
    try:
        clock = Clock(RECEIVED + LEASE + timedelta(seconds=1))
        first = make_worker(store, pipeline_for(store, database_url), clock)
        second = make_worker(other, pipeline_for(other, database_url), clock)
        batches = [await record(store, f"fp-{i}a", f"fp-{i}b") for i in range(10)]

        # Both sweep at once (each also sweeps as it starts): the claims are disjoint.
        await first.start()
        await second.start()
        try:
            await first.sweep()
            await second.sweep()
            # And a batch the receiving replica still holds in memory, offered to both
            # (its lease ran out while queued): the store lets only one write count.
            late = await record(store, "fp-late")
            first.offer(late)
            second.offer(late)
            await first.join()
            await second.join()
        finally:
            await first.stop()
            await second.stop()
        assert await unprocessed(database_url) == 0
        assert await created_entries(database_url) == [1] * (2 * len(batches) + 1)
    finally:
        await other.close()
