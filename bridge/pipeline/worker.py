"""The pipeline worker: runs the stages after the webhook has answered, and recovers lost work.

The receiver stores a delivery durably, answers Alertmanager, and offers the stored batch to
this worker's bounded in-process queue. Consumers take several deliveries per pass and run
them through the stages together, so the webhook's latency no longer includes classification,
dedupe and the lifecycle write. Nothing depends on the queue for durability: every new receipt
keeps its ``pending_receipts`` row until the lifecycle stage's write deletes it, in the same
transaction. A periodic sweep claims receipts left unprocessed (the process died, a stage
failed, the queue was full when they arrived) with a lease, so among several replicas one
processes each, and feeds them back through the same queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta

from aiohttp import web
from prometheus_client import Counter, Gauge

from bridge.frozen import frozen
from bridge.keys import METRICS, PIPELINE, STORE
from bridge.metrics import BridgeMetrics
from bridge.pipeline.base import Batch, Pipeline, StageFailed, StoreRef, Turn
from bridge.store import StoreError, StoreUnavailable
from bridge.store.pending import AlreadyProcessed, WriteConflict
from bridge.tasks import stop_tasks

logger = logging.getLogger(__name__)

QUEUE_SIZE = 512  # deliveries; at 10 alerts each, about a second of the target load
PASS_SIZE = 16  # deliveries run concurrently per pass
# Passes in flight: one writes while the next decides dedupe and the one after classifies,
# so the queue drains steadily and webhooks seldom wait for room in it.
CONSUMERS = 3
LEASE = timedelta(seconds=15)
SWEEP_INTERVAL_SECONDS = 2.0
SWEEP_LIMIT = 2000  # receipts claimed per sweep
DRAIN_SECONDS = 5.0  # on shutdown; what is left is recovered by the next sweep
ADMIT_WAIT_SECONDS = 0.5  # the most a webhook waits for room in a full queue
# Waits before running a delivery again whose stage found the store unavailable; after the
# last, the recovery sweep takes over (once the lease runs out).
STORE_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)

Clock = Callable[[], datetime]
ReceiptKey = tuple[str, datetime, str]  # (fingerprint, startsAt, status)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WorkerMetrics:
    """The worker's own series, registered beside the bridge's."""

    def __init__(self, metrics: BridgeMetrics) -> None:
        registry = metrics.registry
        self.queued = Gauge(
            "secmon_bridge_pipeline_queue_depth",
            "Stored deliveries waiting in this process for the pipeline.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.processed = Counter(
            "secmon_bridge_pipeline_processed_alerts",
            "Receipts the pipeline finished (marked processed in the store).",
            registry=registry,
        )
        self.overflow = Counter(
            "secmon_bridge_pipeline_overflow",
            "Stored deliveries not queued because the queue was full; the sweep recovers them.",
            registry=registry,
        )
        self.recovered = Counter(
            "secmon_bridge_pipeline_recovered_alerts",
            "Unprocessed receipts the recovery sweep claimed.",
            registry=registry,
        )
        self.conflicts = Counter(
            "secmon_bridge_pipeline_write_conflicts",
            "Deliveries whose write met another pass's or replica's write of the same alert "
            "instance; their receipts stay pending for the recovery sweep.",
            registry=registry,
        )


class _Section:
    """Who may enter one ordered section: the lowest ticket not yet through it."""

    def __init__(self) -> None:
        self.serving = 0
        self.finished: set[int] = set()
        self.waiting: dict[int, asyncio.Future[None]] = {}

    async def wait(self, ticket: int) -> None:
        if ticket <= self.serving:
            return
        waiter = self.waiting.setdefault(ticket, asyncio.get_running_loop().create_future())
        await asyncio.shield(waiter)

    def finish(self, ticket: int) -> None:
        if ticket < self.serving:
            return  # left already
        self.finished.add(ticket)
        while self.serving in self.finished:
            self.finished.discard(self.serving)
            self.serving += 1
        waiter = self.waiting.pop(self.serving, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class PassOrder:
    """Tickets that let concurrent passes through each ordered section in the order they
    started.

    A pass takes a ticket when it takes its deliveries from the queue, waits for its turn
    before each section and leaves it once that stage is done; when the pass ends in any way
    it leaves every section (a pass that failed early never waits), which lets the next one
    in. Between and after the sections, passes overlap: one decides dedupe while the one
    before it writes.
    """

    def __init__(self, sections: Sequence[str]) -> None:
        self._issued = 0
        self._sections = {name: _Section() for name in sections}

    def ticket(self) -> int:
        ticket, self._issued = self._issued, self._issued + 1
        return ticket

    def turn(self, ticket: int) -> PassTurn:
        return PassTurn(self, ticket)

    async def wait(self, section: str, ticket: int) -> None:
        await self._sections[section].wait(ticket)

    def finish(self, section: str, ticket: int) -> None:
        self._sections[section].finish(ticket)

    def finish_all(self, ticket: int) -> None:
        for section in self._sections.values():
            section.finish(ticket)


@frozen
class PassTurn:
    """One pass's ticket (a :class:`~bridge.pipeline.base.Turn`)."""

    order: PassOrder
    number: int

    async def wait(self, section: str) -> None:
        await self.order.wait(section, self.number)

    def leave(self, section: str) -> None:
        self.order.finish(section, self.number)

    def done(self) -> None:
        """The pass ended: out of every section it has not left."""
        self.order.finish_all(self.number)


class PipelineWorker:
    """A bounded queue of stored batches, its consumers, and the recovery sweep."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        store: StoreRef,
        metrics: BridgeMetrics,
        queue_size: int = QUEUE_SIZE,
        pass_size: int = PASS_SIZE,
        consumers: int = CONSUMERS,
        lease: timedelta = LEASE,
        sweep_interval: float = SWEEP_INTERVAL_SECONDS,
        sweep_limit: int = SWEEP_LIMIT,
        clock: Clock = _utcnow,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._metrics = metrics
        self._own = WorkerMetrics(metrics)
        self._queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=queue_size)
        self._pass_size = pass_size
        self._consumers = consumers
        self._lease = lease
        self._sweep_interval = sweep_interval
        self._sweep_limit = sweep_limit
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        # Receipts this process holds in its queue or is running: a sweep that claims them
        # again (they waited longer than the lease) must not queue them a second time.
        self._held: collections.Counter[ReceiptKey] = collections.Counter()
        self._order = PassOrder(pipeline.ordered)

    def _time_stage(self, stage: str, seconds: float) -> None:
        self._metrics.stage_duration.labels(stage=stage).observe(seconds)

    def _time_turn(self, stage: str, seconds: float) -> None:
        self._metrics.turn_wait.labels(stage=stage).observe(seconds)

    def offer(self, batch: Batch) -> bool:
        """Queue a stored batch; False when full (it stays in the store for the sweep)."""
        if not batch.fresh:
            return True  # exact re-deliveries: nothing for the stages to do
        try:
            self._queue.put_nowait(batch)
        except asyncio.QueueFull:
            self._own.overflow.inc()
            return False
        self._hold(batch, 1)
        self._own.queued.set(self._queue.qsize())
        return True

    async def admit(self, batch: Batch, wait: float = ADMIT_WAIT_SECONDS) -> bool:
        """Queue a stored batch, waiting up to ``wait`` seconds for room (the webhook's
        backpressure); False when still full (it stays in the store for the sweep).

        Waiting a little when the pipeline is behind paces the senders to it. Without it
        the receiver, which needs far less work per alert, fills the queue and every further
        delivery waits out the recovery lease in the store instead."""
        if not batch.fresh or not self._queue.full():
            return self.offer(batch)
        try:
            async with asyncio.timeout(wait):
                await self._queue.put(batch)
        except TimeoutError:
            self._own.overflow.inc()
            return False
        self._hold(batch, 1)
        self._own.queued.set(self._queue.qsize())
        return True

    def _hold(self, batch: Batch, change: int) -> None:
        for receipt in batch.fresh:
            key = receipt.alert.receipt_key
            self._held[key] += change
            if self._held[key] <= 0:
                del self._held[key]

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._consume(), name=f"pipeline-{n}")
            for n in range(self._consumers)
        ]
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="pipeline-sweep"))

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Finish what is queued (bounded), then stop; leftovers stay for the next sweep."""
        sweep, consumers = self._tasks[-1:], self._tasks[:-1]
        await stop_tasks(sweep)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_seconds):
                await self._queue.join()
        await stop_tasks(consumers)
        self._tasks = []

    async def join(self) -> None:
        """Wait until every queued batch has been run (tests and benchmarks)."""
        await self._queue.join()

    async def sweep(self) -> int:
        """Claim unprocessed receipts and queue them (waiting for room); how many were claimed."""
        try:
            pending = await self._store().claim_unprocessed(
                now=self._clock(), lease=self._lease, limit=self._sweep_limit
            )
        except StoreError as exc:
            logger.warning("recovery sweep could not claim unprocessed alerts: %s", exc)
            return 0
        claimed = 0
        for item in pending:
            receipts = [r for r in item.receipts if r.alert.receipt_key not in self._held]
            if not receipts:
                continue  # still queued here: it waited out the lease, it is not lost
            claimed += len(receipts)
            batch = Batch(delivery=item.delivery, receipts=receipts)
            await self._queue.put(batch)
            self._hold(batch, 1)
        if claimed:
            self._own.recovered.inc(claimed)
            logger.info("recovery sweep: %d unprocessed alert(s) queued again", claimed)
        self._own.queued.set(self._queue.qsize())
        return claimed

    async def _sweep_forever(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(self._sweep_interval)

    async def _consume(self) -> None:
        while True:
            batches = [await self._queue.get()]
            while len(batches) < self._pass_size and not self._queue.empty():
                batches.append(self._queue.get_nowait())
            turn = self._order.turn(self._order.ticket())  # in the order passes take work
            self._own.queued.set(self._queue.qsize())
            try:
                await self._run_pass(batches, turn)
            finally:
                turn.done()
                for batch in batches:
                    self._hold(batch, -1)
                    self._queue.task_done()

    async def _run_pass(self, batches: list[Batch], turn: Turn) -> None:
        """The whole pass through the pipeline at once; if that fails, each delivery alone,
        so one bad or already-processed delivery costs the others only a retry."""
        if len(batches) == 1:
            await self._run(batches[0], turn)
            return
        started = time.perf_counter()
        try:
            await self._pipeline.run_many(batches, turn, self._time_stage, self._time_turn)
        except StageFailed as exc:
            logger.debug("pass of %d deliveries failed (%s); running each alone", len(batches), exc)
            for batch in batches:
                await self._run(batch, turn)
            return
        except Exception:
            logger.exception("pipeline pass of %d deliveries failed", len(batches))
            return
        self._own.processed.inc(sum(len(batch.fresh) for batch in batches))
        self._metrics.pipeline_duration.observe(time.perf_counter() - started)

    async def _run(self, batch: Batch, turn: Turn) -> None:
        started = time.perf_counter()
        try:
            await self._run_retrying(batch, turn)
        except StageFailed as exc:
            if isinstance(exc.__cause__, AlreadyProcessed):
                logger.debug("group %s: another worker processed it", batch.delivery.group_key)
                return
            if isinstance(exc.__cause__, WriteConflict):
                # Another replica is writing the same alert instance: once it committed, the
                # sweep's claim sees its write.
                self._own.conflicts.inc()
                logger.info(
                    "group %s: %s; left to the recovery sweep",
                    batch.delivery.group_key,
                    exc.__cause__,
                )
                return
            # The receipts stay unprocessed: the sweep retries them once the lease runs out.
            self._metrics.pipeline_errors.labels(stage=exc.stage).inc()
            logger.error("%s (group %s); the sweep will retry", exc, batch.delivery.group_key)
            return
        except Exception:
            logger.exception("pipeline failed for group %s", batch.delivery.group_key)
            return
        self._own.processed.inc(len(batch.fresh))
        self._metrics.pipeline_duration.observe(time.perf_counter() - started)

    async def _run_retrying(self, batch: Batch, turn: Turn) -> None:
        """Run one delivery; while the store is unavailable, again after a short wait (the
        receipts stay in this process's hands), then leave it to the recovery sweep."""
        for delay in STORE_RETRY_SECONDS:
            try:
                await self._pipeline.run(batch, turn, self._time_stage, self._time_turn)
                return
            except StageFailed as exc:
                if not isinstance(exc.__cause__, StoreUnavailable):
                    raise
                logger.info(
                    "group %s: store unavailable (%s); trying again in %g s",
                    batch.delivery.group_key,
                    exc.__cause__,
                    delay,
                )
            await asyncio.sleep(delay)
        await self._pipeline.run(batch, turn, self._time_stage, self._time_turn)


# Set by :func:`worker_context` while the application runs; the receiver offers batches to it.
WORKER: web.AppKey[PipelineWorker] = web.AppKey("secmon_pipeline_worker")


async def worker_context(app: web.Application) -> AsyncIterator[None]:
    """Run the worker while the app runs; appended after the store and notifier contexts, so
    it stops (draining its queue) before they close."""
    worker = PipelineWorker(app[PIPELINE], store=lambda: app[STORE], metrics=app[METRICS])
    app[WORKER] = worker
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()
