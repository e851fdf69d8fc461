"""The pipeline worker: stages run after the 2xx, and nothing stored is ever left unprocessed.

Each test runs on both backends. The clock is injected, so "the lease ran out" is a step of
the test rather than a sleep.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.dedupe import build_dedupe_index
from bridge.metrics import BridgeMetrics
from bridge.pipeline import Batch, Pipeline, build_pipeline
from bridge.pipeline import worker as worker_module
from bridge.pipeline.worker import PassOrder, PipelineWorker
from bridge.store import AlertStore, StoreUnavailable, open_store
from bridge.store.pending import WriteConflict
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
    return await record_alerts(store, *(make_alert(f) for f in fingerprints))


async def record_alerts(store: AlertStore, *alerts: dict[str, object]) -> Batch:
    body = json.dumps(make_payload(*alerts)).encode()
    delivery = to_delivery(parse_payload(body), body, received_at=RECEIVED)
    return Batch(delivery=delivery, receipts=await store.record_delivery(delivery))


async def unprocessed(database_url: str) -> int:
    rows = await query(database_url, "SELECT count(*) FROM pending_receipts")
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
    assert await query(database_url, "SELECT count(*) FROM alert_instances") == [(0,)]

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


class PoisonedPass:
    """Fails any run that includes the delivery with fingerprint ``poison``."""

    name = "poisoned"

    def __init__(self) -> None:
        self.pass_sizes: list[int] = []

    async def process(self, batch: Batch) -> Batch:
        return (await self.process_many([batch]))[0]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        self.pass_sizes.append(len(batches))
        if any(r.alert.fingerprint == "poison" for b in batches for r in b.receipts):
            raise RuntimeError("this delivery always breaks the stage")
        return list(batches)


async def frequencies(database_url: str) -> dict[str, int]:
    rows = await query(
        database_url, "SELECT fingerprint, enrichment FROM alert_instances ORDER BY fingerprint"
    )
    out = {}
    for fingerprint, enrichment in rows:
        data = json.loads(enrichment) if isinstance(enrichment, str) else enrichment
        out[fingerprint] = data["historical_frequency"]["last_7d"]
    return out


async def test_one_pass_runs_several_deliveries_as_one_by_one_would(
    store: AlertStore, database_url: str
) -> None:
    clock = Clock(RECEIVED)
    counting = PoisonedPass()
    worker = make_worker(store, pipeline_for(store, database_url, counting), clock)
    # Same rule and asset across deliveries: each alert's history counts the alerts of the
    # deliveries before its own (written by then, one by one), not its own delivery's.
    shared = {"asset": "kong-prod-1"}
    one = await record_alerts(store, make_alert("a1", **shared), make_alert("a2", **shared))
    two = await record_alerts(store, make_alert("b1", **shared))
    three = await record(store, "c1")
    for batch in (one, two, three):
        assert worker.offer(batch)

    await run(worker, lambda: None)
    assert counting.pass_sizes == [3]  # queued before the consumers started: one pass
    assert await unprocessed(database_url) == 0
    assert await unclassified(database_url) == 0
    assert await created_entries(database_url) == [1, 1, 1, 1]
    assert await frequencies(database_url) == {"a1": 0, "a2": 0, "b1": 2, "c1": 0}


async def test_a_failing_pass_runs_each_delivery_alone(
    store: AlertStore, database_url: str
) -> None:
    worker = make_worker(store, pipeline_for(store, database_url, PoisonedPass()), Clock(RECEIVED))
    batches = [
        await record(store, "ok-1"),
        await record(store, "poison"),
        await record(store, "ok-2"),
    ]
    for batch in batches:
        worker.offer(batch)

    await run(worker, lambda: None)
    # The two good deliveries are done; only the poisoned one waits for the sweep.
    assert await unprocessed(database_url) == 1
    assert await created_entries(database_url) == [1, 1]


async def test_each_new_alert_is_recorded_as_a_security_event(
    store: AlertStore, database_url: str
) -> None:
    worker = make_worker(store, pipeline_for(store, database_url), Clock(RECEIVED))
    batch = await record_alerts(
        store,
        make_alert("gh", source="github_scanner", platform="github", severity="high"),
        make_alert("kong", platform="kong"),
        make_alert("other", rule_id="", alertname="SomethingElse"),
    )
    resend = await record(store, "gh")  # an exact re-send: no second event
    worker.offer(batch)
    worker.offer(resend)

    await run(worker, lambda: None)
    rows = await query(
        database_url,
        "SELECT source, event_type, severity, platform, asset_id FROM security_events "
        "ORDER BY source",
    )
    assert [tuple(row) for row in rows] == [
        ("alertmanager", "SomethingElse", "critical", None, "asset-other"),
        ("github_scanner", "kong_http_admin_api", "high", "github", "asset-gh"),
        ("kong", "kong_http_admin_api", "critical", "kong", "asset-kong"),
    ]


async def test_a_sweep_does_not_queue_again_what_this_process_still_holds(
    store: AlertStore, database_url: str
) -> None:
    """A delivery that waited in the queue longer than the lease is claimed by the sweep, but
    not queued a second time: it runs once, and nothing fails as already processed."""
    clock = Clock(RECEIVED)
    worker = make_worker(store, pipeline_for(store, database_url), clock)
    batch = await record(store, "fp-1", "fp-2")
    assert worker.offer(batch)  # queued; no consumer is running yet
    clock.now = RECEIVED + LEASE + timedelta(seconds=1)
    assert await worker.sweep() == 0
    await record(store, "fp-3")  # stored, never offered: a lost delivery
    assert await worker.sweep() == 1  # the lost one is recovered
    await run(worker, lambda: None)
    assert await unprocessed(database_url) == 0
    assert await created_entries(database_url) == [1, 1, 1]
    assert await worker.sweep() == 0  # nothing held, nothing left


async def test_admit_waits_briefly_for_room_then_leaves_the_rest_to_the_sweep(
    store: AlertStore, database_url: str
) -> None:
    """Backpressure: with the queue full, the webhook waits (bounded) for the pipeline to take
    a pass; if none does in time, the delivery stays in the store for the sweep."""
    worker = PipelineWorker(
        pipeline_for(store, database_url),
        store=lambda: store,
        metrics=BridgeMetrics(),
        queue_size=1,
        sweep_interval=3600,
        clock=Clock(RECEIVED),
    )
    first, second, third = [await record(store, f"fp-{i}") for i in range(3)]
    assert await worker.admit(first, wait=0.05)  # room: queued at once
    started = asyncio.get_running_loop().time()
    assert not await worker.admit(second, wait=0.2)  # nobody consumes: it gives up
    assert asyncio.get_running_loop().time() - started >= 0.2
    await worker.start()  # consumers take the queued pass, which makes room
    try:
        assert await worker.admit(third, wait=5)
        await worker.join()
    finally:
        await worker.stop()
    assert await unprocessed(database_url) == 1  # the one left to the sweep


class Busy:
    """A CPU-bound stage: it never awaits anything that suspends."""

    name = "busy"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def process(self, batch: Batch) -> Batch:
        self.log.append("stage")
        return batch


async def test_a_pass_lets_other_tasks_run_between_its_deliveries(store: AlertStore) -> None:
    """A webhook arriving during a pass is not held for the whole pass."""
    log: list[str] = []
    batches = [await record(store, f"fp-{i}") for i in range(3)]

    async def webhook() -> None:
        log.append("webhook")

    run_pass = asyncio.create_task(Pipeline(stages=[Busy(log)]).run_many(batches))
    await asyncio.sleep(0)  # the pass starts and runs its first delivery
    answered = asyncio.create_task(webhook())
    await asyncio.gather(run_pass, answered)
    assert log.index("webhook") < len(batches)  # before the pass's last delivery


class UnavailableOnce:
    """A stage whose store is unavailable the first time (a failover, a restart)."""

    name = "store-bound"

    def __init__(self) -> None:
        self.calls = 0

    async def process(self, batch: Batch) -> Batch:
        self.calls += 1
        if self.calls == 1:
            raise StoreUnavailable("connection refused")
        return batch


async def test_a_delivery_runs_again_while_the_store_is_unavailable(
    store: AlertStore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No wait for the sweep's lease: the worker keeps the delivery and tries again."""
    monkeypatch.setattr(worker_module, "STORE_RETRY_SECONDS", (0.01,))
    stage = UnavailableOnce()
    worker = make_worker(store, pipeline_for(store, database_url, stage), Clock(RECEIVED))
    batch = await record(store, "fp-1", "fp-2")

    await run(worker, lambda: worker.offer(batch))
    assert stage.calls == 2
    assert await unprocessed(database_url) == 0
    assert await created_entries(database_url) == [1, 1]


class Recorder:
    """A stage that logs which pass ran it; pass ``held`` waits in it until released."""

    def __init__(
        self, name: str, log: list[tuple[str, int]], hold: asyncio.Event, held: int = -1
    ) -> None:
        self.name = name
        self._log = log
        self._hold = hold
        self._held = held

    async def process(self, batch: Batch) -> Batch:
        number = int(batch.delivery.group_key)
        if number == self._held:
            await self._hold.wait()
        self._log.append((self.name, number))
        return batch


class PreparedRecorder(Recorder):
    """A two-phase stage (:class:`~bridge.pipeline.base.PreparedStage`) that logs both phases."""

    async def prepare(self, batches: Sequence[Batch]) -> Sequence[Batch]:
        self._log.extend(("prepare", int(b.delivery.group_key)) for b in batches)
        return batches

    async def apply(self, prepared: Sequence[Batch]) -> list[Batch]:
        return [await self.process(batch) for batch in prepared]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        return await self.apply(await self.prepare(batches))


async def numbered(store: AlertStore, count: int) -> list[Batch]:
    """Deliveries whose group key is their pass number, for the recorders' logs."""
    batches = []
    for n in range(count):
        batch = await record(store, f"fp-{n}")
        delivery = dataclasses.replace(batch.delivery, group_key=str(n))
        batches.append(dataclasses.replace(batch, delivery=delivery))
    return batches


def section_order(log: list[tuple[str, int]], section: str) -> list[int]:
    return [number for name, number in log if name == section]


async def test_passes_go_through_each_ordered_stage_in_the_order_they_started(
    store: AlertStore,
) -> None:
    """A later pass overtakes an earlier one only outside the ordered stages, and a pass that
    ends early (it failed before its turn) does not hold up the ones after it."""
    log: list[tuple[str, int]] = []
    hold = asyncio.Event()
    stages = [
        Recorder("before", log, hold, held=0),
        Recorder("dedupe", log, hold),
        PreparedRecorder("lifecycle", log, hold),
        Recorder("after", log, hold),
    ]
    pipeline = Pipeline(stages=stages, ordered=("dedupe", "lifecycle"))
    batches = await numbered(store, 3)
    order = PassOrder(pipeline.ordered)
    turns = [order.turn(order.ticket()) for _ in batches]

    first = asyncio.create_task(pipeline.run(batches[0], turns[0]))
    turns[1].done()  # pass 1 failed before its turn
    third = asyncio.create_task(pipeline.run(batches[2], turns[2]))
    await asyncio.sleep(0.01)
    assert log == [("before", 2)]  # pass 2 waits for pass 0, which is still in "before"
    hold.set()
    await asyncio.gather(first, third)
    assert section_order(log, "dedupe") == [0, 2]
    assert section_order(log, "lifecycle") == [0, 2]


async def test_a_pass_decides_and_prepares_while_the_one_before_it_writes(
    store: AlertStore,
) -> None:
    """Each ordered stage is a section of its own: while pass 0 is held in the write, pass 1
    goes through dedupe and prepares its write, and waits only for the write itself."""
    log: list[tuple[str, int]] = []
    hold = asyncio.Event()
    stages = [Recorder("dedupe", log, hold), PreparedRecorder("lifecycle", log, hold, held=0)]
    pipeline = Pipeline(stages=stages, ordered=("dedupe", "lifecycle"))
    batches = await numbered(store, 2)
    order = PassOrder(pipeline.ordered)
    turns = [order.turn(order.ticket()) for _ in batches]

    runs = [asyncio.create_task(pipeline.run(b, t)) for b, t in zip(batches, turns, strict=True)]
    await asyncio.sleep(0.01)
    assert log == [("dedupe", 0), ("prepare", 0), ("dedupe", 1), ("prepare", 1)]
    hold.set()
    await asyncio.gather(*runs)
    assert section_order(log, "lifecycle") == [0, 1]


class Conflicting:
    """A stage whose write meets another replica's write of the same instance."""

    name = "conflicting"

    async def process(self, batch: Batch) -> Batch:
        raise WriteConflict("instance not yet created")


async def test_a_write_conflict_is_counted_and_left_to_the_sweep(
    store: AlertStore, database_url: str
) -> None:
    metrics = BridgeMetrics()
    worker = PipelineWorker(
        pipeline_for(store, database_url, Conflicting()),
        store=lambda: store,
        metrics=metrics,
        lease=LEASE,
        sweep_interval=3600,
        clock=Clock(RECEIVED),
    )
    batch = await record(store, "fp-1")

    await run(worker, lambda: worker.offer(batch))
    assert await unprocessed(database_url) == 1  # pending: the sweep sees the other write
    registry = metrics.registry
    assert registry.get_sample_value("secmon_bridge_pipeline_write_conflicts_total") == 1
    errors = registry.get_sample_value(
        "secmon_bridge_pipeline_errors_total", {"stage": "conflicting"}
    )
    assert errors is None  # never counted as an error: nothing is wrong with the delivery


async def test_the_worker_times_each_stage_and_each_wait_for_a_turn(
    store: AlertStore, database_url: str
) -> None:
    """Stage times leave out the wait for a turn, which has its own series per ordered stage:
    an operator can tell a slow stage from a pass held up by the ones before it."""
    metrics = BridgeMetrics()
    pipeline = build_pipeline(
        bridge_config(database_url),
        store=lambda: store,
        metrics=metrics,
        dedupe_index=build_dedupe_index(None),
    )
    metrics.register_stages(pipeline.names, pipeline.ordered)
    worker = PipelineWorker(
        pipeline, store=lambda: store, metrics=metrics, lease=LEASE, sweep_interval=3600,
        clock=Clock(RECEIVED),
    )  # fmt: skip
    batches = [await record(store, f"fp-{n}") for n in range(3)]

    await run(worker, lambda: [worker.offer(batch) for batch in batches])

    def passes(family: str, stage: str) -> float | None:
        return metrics.registry.get_sample_value(f"{family}_count", {"stage": stage})

    turn_wait = "secmon_bridge_pipeline_turn_wait_seconds"
    assert tuple(pipeline.ordered) == ("dedupe", "lifecycle")
    waits = passes(turn_wait, "lifecycle")
    assert waits is not None
    assert waits >= 1
    assert passes(turn_wait, "dedupe") == waits
    assert passes(turn_wait, "classify") is None  # not an ordered stage
    stage_time = "secmon_bridge_pipeline_stage_duration_seconds"
    assert passes(stage_time, "lifecycle") == passes(turn_wait, "lifecycle")
