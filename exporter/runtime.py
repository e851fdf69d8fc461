"""The poll scheduler: one asyncio task per collector, snapshots in, metric families out.

Each task waits a random fraction of its interval before the first poll (so many collectors
started together do not hit their APIs in lock-step), at most ``max_start_jitter`` seconds so a
long interval never delays readiness, then polls under a timeout. A successful
poll replaces the collector's snapshot and hands its events to detection; a failed one keeps the
last good snapshot, marks it stale, counts the error by reason, and backs off exponentially with
jitter (never longer than ``interval * backoff_cap``, never shorter than a ``Retry-After``).

Scrapes never wait for a poll: :class:`SnapshotMetrics` only renders the snapshots held at that
moment; the polling tasks replace a snapshot reference, they never mutate a published one. Each
snapshot is turned into exposition text once (:mod:`exporter.exposition`), and ``after_poll``
(the exposition's refresh) runs in the executor after every successful poll, so the next scrape
finds every cache warm.

Self-metrics, created up front for every collector so dashboards see them before the first poll::

    secmon_collector_up{collector="edge",type="kong"} 1.0
    secmon_collector_duration_seconds{collector="edge",type="kong"} 0.012
    secmon_collector_last_success_timestamp_seconds{collector="edge",type="kong"} 1.7e+09
    secmon_collector_stale{collector="edge",type="kong"} 0.0
    secmon_collector_errors_total{collector="edge",reason="timeout",type="kong"} 0.0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import Metric

from exporter.collectors.base import Collector, CollectorError, Snapshot
from exporter.events import Event
from exporter.exposition import Live, Part, RenderedFamily, render_families

log = logging.getLogger(__name__)

# Reasons every collector can hit; pre-created so rate() works from the first failure on.
COMMON_ERROR_REASONS = ("timeout", "connection", "malformed", "internal")
LABELS = ("collector", "type")


class DetectionSink(Protocol):
    """What the runtime needs from detection: the full event list of each successful poll."""

    def update(self, collector_name: str, events: Sequence[Event]) -> None: ...


class Enricher(Protocol):
    """Adds asset context (environment, owner, …) to a poll's events before detection sees
    them, and records the assets they name (:class:`exporter.inventory.Inventory`)."""

    def enrich(self, collector_name: str, events: Sequence[Event]) -> Sequence[Event]: ...


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A collector plus what the runtime needs to drive it."""

    collector: Collector
    type: str
    timeout: float


@dataclass(slots=True)
class CollectorState:
    scheduled: Scheduled
    snapshot: Snapshot | None = None
    stale: bool = False
    attempts: int = 0
    consecutive_failures: int = 0
    retry_after: float | None = None

    @property
    def name(self) -> str:
        return self.scheduled.collector.name


class SelfMetrics:
    """The ``secmon_collector_*`` families, registered once and labelled per collector."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "secmon_collector_up",
            "1 if the collector's last poll succeeded.",
            LABELS,
            registry=registry,
        )
        self.duration = Gauge(
            "secmon_collector_duration_seconds",
            "Duration of the collector's last poll.",
            LABELS,
            registry=registry,
        )
        self.last_success = Gauge(
            "secmon_collector_last_success_timestamp_seconds",
            "Unix time of the collector's last successful poll.",
            LABELS,
            registry=registry,
        )
        self.stale = Gauge(
            "secmon_collector_stale",
            "1 if the last poll failed and the data shown comes from an older snapshot.",
            LABELS,
            registry=registry,
        )
        self.errors = Counter(
            "secmon_collector_errors",
            "Failed polls by reason.",
            (*LABELS, "reason"),
            registry=registry,
        )

    def init(self, name: str, type_: str) -> None:
        for gauge in (self.up, self.duration, self.last_success, self.stale):
            gauge.labels(name, type_).set(0)
        for reason in COMMON_ERROR_REASONS:
            self.errors.labels(name, type_, reason)

    def part(self) -> Live:
        """These change on every poll and are few: rendered on every scrape."""
        return Live(self.up, self.duration, self.last_success, self.stale, self.errors)


class SnapshotMetrics:
    """Custom collector yielding every collector's latest snapshot metric families.

    Two collectors of one type (two Kong targets) emit families of the same name; they are
    merged into one family here, because the text format allows a ``# HELP``/``# TYPE`` pair
    only once per name. Sample label sets stay distinct through each family's ``collector``
    label.
    """

    def __init__(self, states: Sequence[CollectorState]) -> None:
        self._states = states
        self._lock = threading.Lock()
        # Per collector: the snapshot last rendered (held, so identity stays meaningful) and its
        # families. Snapshots are immutable once published, so identity means "unchanged".
        self._rendered: dict[str, tuple[Snapshot, tuple[RenderedFamily, ...]]] = {}

    def rendered(self) -> Sequence[RenderedFamily]:
        """Every snapshot's families as exposition text, rendered once per published snapshot.

        Same-named families stay separate here; :func:`exporter.exposition.join` merges them.
        """
        out: list[RenderedFamily] = []
        with self._lock:
            for state in self._states:
                snapshot = state.snapshot  # one read, as in collect()
                if snapshot is None:
                    continue
                cached = self._rendered.get(state.name)
                if cached is None or cached[0] is not snapshot:
                    cached = (snapshot, render_families(snapshot.metrics))
                    self._rendered[state.name] = cached
                out.extend(cached[1])
        return out

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        copied: set[str] = set()
        for state in self._states:
            snapshot = state.snapshot  # one read: a concurrent poll swaps the reference only
            if snapshot is None:
                continue
            for family in snapshot.metrics:
                seen = merged.get(family.name)
                if seen is None:
                    merged[family.name] = family
                    continue
                if family.name not in copied:
                    # Never mutate a published snapshot's family: copy before extending.
                    copy = Metric(seen.name, seen.documentation, seen.type, seen.unit)
                    copy.samples = list(seen.samples)
                    copied.add(family.name)
                    merged[family.name] = seen = copy
                seen.samples.extend(family.samples)
        yield from merged.values()


class Runtime:
    """Drives the collectors; owns their snapshots and self-metrics."""

    def __init__(
        self,
        scheduled: Sequence[Scheduled],
        *,
        registry: CollectorRegistry,
        detection: DetectionSink | None = None,
        enricher: Enricher | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        start_jitter: float = 0.1,
        max_start_jitter: float = 10.0,
        backoff_cap: float = 4.0,
        first_retry: float = 5.0,
        after_poll: Callable[[], None] | None = None,
    ) -> None:
        self.states = [CollectorState(s) for s in scheduled]
        self._detection = detection
        self._enricher = enricher
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - scheduling jitter, not a secret
        self._start_jitter = start_jitter
        self._max_start_jitter = max_start_jitter
        self._backoff_cap = backoff_cap
        self._first_retry = first_retry
        self._after_poll = after_poll
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics = SelfMetrics(registry)
        for state in self.states:
            self.metrics.init(state.name, state.scheduled.type)
        self.snapshot_metrics = SnapshotMetrics(self.states)
        registry.register(self.snapshot_metrics)

    def exposition_parts(self) -> list[Part]:
        """The runtime's share of ``/metrics``, in registry order: self-metrics, snapshots."""
        return [self.metrics.part(), self.snapshot_metrics]

    @property
    def ready(self) -> bool:
        """True once every collector has completed at least one poll attempt."""
        return all(state.attempts > 0 for state in self.states)

    def state(self, name: str) -> CollectorState:
        return next(s for s in self.states if s.name == name)

    async def start(self) -> None:
        for state in self.states:
            self._tasks.append(asyncio.create_task(self._run(state), name=f"poll:{state.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for state in self.states:
            with contextlib.suppress(Exception):
                await state.scheduled.collector.close()

    async def _run(self, state: CollectorState) -> None:
        interval = state.scheduled.collector.interval
        spread = min(interval * self._start_jitter, self._max_start_jitter)
        await asyncio.sleep(self._rng.uniform(0, spread))
        while True:
            started = time.monotonic()
            await self.poll_once(state)
            delay = self.next_delay(state)
            if state.consecutive_failures == 0:
                delay -= time.monotonic() - started  # keep the cadence: interval start to start
            await asyncio.sleep(max(delay, 0.0))

    def next_delay(self, state: CollectorState) -> float:
        """Seconds until the next poll, given how the last one went."""
        interval = state.scheduled.collector.interval
        if state.consecutive_failures == 0:
            return interval
        exponent = min(state.consecutive_failures - 1, 30)
        ceiling = min(
            min(interval, self._first_retry) * 2.0**exponent, interval * self._backoff_cap
        )
        # "Equal jitter": at least half the backoff, so retries spread without collapsing to 0.
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if state.retry_after is not None:
            delay = max(delay, state.retry_after)
        return delay

    async def poll_once(self, state: CollectorState) -> bool:
        """One poll attempt with all its bookkeeping; True on success. Never raises."""
        scheduled = state.scheduled
        labels = (state.name, scheduled.type)
        started = time.monotonic()
        try:
            async with asyncio.timeout(scheduled.timeout):
                snapshot = await scheduled.collector.poll()
        except Exception as exc:  # noqa: BLE001 - a collector bug must not stop polling
            self._failed(state, exc)
            return False
        finally:
            state.attempts += 1
            self.metrics.duration.labels(*labels).set(time.monotonic() - started)
        if self._enricher is not None:
            try:
                snapshot = replace(
                    snapshot, events=self._enricher.enrich(state.name, snapshot.events)
                )
            except Exception:
                # Unenriched events still detect; only their asset context is missing.
                log.exception("enrichment failed on events from collector %s", state.name)
        state.snapshot = snapshot
        state.stale = False
        if state.consecutive_failures:
            log.info(
                "collector %s recovered after %d failed polls",
                state.name,
                state.consecutive_failures,
            )
        state.consecutive_failures = 0
        state.retry_after = None
        self.metrics.up.labels(*labels).set(1)
        self.metrics.stale.labels(*labels).set(0)
        self.metrics.last_success.labels(*labels).set(snapshot.taken_at or self._clock())
        if self._detection is not None:
            try:
                self._detection.update(state.name, snapshot.events)
            except Exception:
                log.exception("detection failed on events from collector %s", state.name)
        if self._after_poll is not None:
            try:
                # Off the event loop: re-rendering a large estate takes a while.
                await asyncio.get_running_loop().run_in_executor(None, self._after_poll)
            except Exception:
                log.exception("pre-rendering /metrics failed after a poll of %s", state.name)
        return True

    def _failed(self, state: CollectorState, exc: Exception) -> None:
        retry_after = None
        if isinstance(exc, CollectorError):
            reason, message, retry_after = exc.reason, str(exc), exc.retry_after
        elif isinstance(exc, TimeoutError):
            reason = "timeout"
            message = f"poll exceeded {state.scheduled.timeout:g}s"
        else:
            # Type only: an unexpected exception's text could carry anything, secrets included.
            reason, message = "internal", f"unexpected {type(exc).__name__}"
        state.retry_after = retry_after
        state.consecutive_failures += 1
        state.stale = state.snapshot is not None
        labels = (state.name, state.scheduled.type)
        self.metrics.up.labels(*labels).set(0)
        self.metrics.stale.labels(*labels).set(int(state.stale))
        self.metrics.errors.labels(*labels, reason).inc()
        log.warning("collector %s poll failed (%s): %s", state.name, reason, message)
