"""The anomaly scheduler: PromQL series in, scores out on the bridge's ``/metrics``.

Per configured query, every ``score_every`` seconds:

1. fetch the series through ``query_range``, from the step after the last scored point to now
   (the whole ``fit_window`` for series seen for the first time or due for a refit);
2. fit a fresh detector per series on its history when first seen (and on the refit schedule),
   then score only points newer than that series' last scored one: online, no look-ahead;
3. publish the latest score of each series and persist every detector's state.

A failed fetch (timeout, 5xx, PromQL error) is logged and counted and the previous scores stay
published; nothing here raises into the bridge. Fitting and scoring are CPU work and run in a
worker thread so the webhook receiver keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bridge.anomaly.base import Score
from bridge.anomaly.config import AnomalyConfig, AnomalyQuery
from bridge.anomaly.factory import FloatDetector, build_detector
from bridge.anomaly.prometheus_api import PrometheusClient, QueryFailed, RangeResult, Series
from bridge.anomaly.publish import Published, SchedulerMetrics, ScoreCollector
from bridge.anomaly.state_store import QueryState, SeriesRecord, StateStore
from bridge.tasks import stop_tasks

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def series_key(labels: Mapping[str, str]) -> str:
    return json.dumps(sorted(labels.items()), separators=(",", ":"))


@dataclass(slots=True)
class Tracked:
    """One series' detector and where it is in time."""

    labels: dict[str, str]
    detector: FloatDetector
    last_scored: float
    fitted_at: float
    last: Score


class QueryRunner:
    """Fetches, fits, scores and publishes one query's series."""

    def __init__(
        self,
        query: AnomalyQuery,
        *,
        client: PrometheusClient,
        collector: ScoreCollector,
        metrics: SchedulerMetrics,
        store: StateStore | None,
        clock: Clock = time.time,
    ) -> None:
        self.query = query
        self._client = client
        self._collector = collector
        self._metrics = metrics
        self._store = store
        self._clock = clock
        self.tracked: dict[str, Tracked] = {}
        self.fits = 0  # detectors fitted from history (tests check restarts do not refit)
        metrics.register_query(query.name)
        self._restore()

    def _restore(self) -> None:
        saved = self._store.load(self.query.name) if self._store else None
        if saved is None:
            return
        if saved.detector != self.query.detector or saved.params != self.query.params:
            log.info("anomaly query %s: detector changed, refitting", self.query.name)
            return
        for key, rec in saved.series.items():
            detector = build_detector(self.query.detector, self.query.params)
            detector.load_state(rec.state)
            warm = Score.warming_up(0.0)
            self.tracked[key] = Tracked(rec.labels, detector, rec.last_scored, rec.fitted_at, warm)
        log.info("anomaly query %s: resumed %d series", self.query.name, len(self.tracked))

    def _grid_end(self, now: float) -> float:
        # query_range evaluates at start + k*step; a fixed grid keeps points from repeating.
        step = self.query.step
        return math.floor(now / step) * step

    def _refit_due(self, rec: Tracked, now: float) -> bool:
        interval = self.query.refit_interval
        return interval is not None and now - rec.fitted_at >= interval

    async def _fetch(self, start: float, end: float) -> RangeResult:
        q = self.query
        return await self._client.query_range(
            q.query, start=start, end=end, step=q.step, timeout_seconds=q.timeout
        )

    async def run_once(self) -> None:
        """One round; failures are counted and logged, the last scores stay published."""
        q = self.query
        began = time.perf_counter()
        now = self._clock()
        end = self._grid_end(now)
        window_start = end - math.floor(q.fit_window / q.step) * q.step
        needs_history = not self.tracked or any(
            self._refit_due(t, now) for t in self.tracked.values()
        )
        start = (
            window_start
            if needs_history
            else max(window_start, min(t.last_scored for t in self.tracked.values()) + q.step)
        )
        try:
            result = await self._fetch(start, end) if start <= end else RangeResult([])
            history = result
            if not needs_history and any(
                series_key(s.labels) not in self.tracked for s in result.series
            ):
                history = await self._fetch(window_start, end)  # new series need a past
            outcome = "partial" if result.warnings or history.warnings else "success"
            for warning in [*result.warnings, *history.warnings]:
                log.warning("anomaly query %s: Prometheus warning: %s", q.name, warning)
            await asyncio.to_thread(self._score_round, result, history, now)
        except QueryFailed as exc:
            outcome = exc.outcome
            log.warning("anomaly query %s failed (%s): %s", q.name, exc.outcome, exc)
        except Exception:
            outcome = "error"
            log.exception("anomaly query %s: scoring round failed", q.name)
        self._metrics.queries.labels(q.name, outcome).inc()
        self._metrics.duration.labels(q.name).observe(time.perf_counter() - began)

    def _score_round(self, result: RangeResult, history: RangeResult, now: float) -> None:
        past = {series_key(s.labels): s for s in history.series}
        points = 0
        for series in result.series:
            key = series_key(series.labels)
            rec = self.tracked.get(key)
            if rec is None or self._refit_due(rec, now):
                rec = self._fit(key, past.get(key, series), rec, now)
                if rec is None:
                    continue
            points += self._score_new(rec, series)
        self._publish(now)
        self._metrics.points.labels(self.query.name).inc(points)
        self._persist()

    def _fit(self, key: str, series: Series, old: Tracked | None, now: float) -> Tracked | None:
        """Fit on the history up to the last scored point (all but the newest when new)."""
        times, values = list(series.timestamps), list(series.values)
        if not times:
            return None
        cut = len(times) - 1 if old is None else sum(1 for t in times if t <= old.last_scored)
        detector = build_detector(self.query.detector, self.query.params)
        detector.fit(times[:cut], values[:cut])
        self.fits += 1
        last_scored = times[cut - 1] if cut else times[0] - self.query.step
        last = old.last if old else Score.warming_up(values[0])
        rec = Tracked(dict(series.labels), detector, last_scored, now, last)
        self.tracked[key] = rec
        return rec

    @staticmethod
    def _score_new(rec: Tracked, series: Series) -> int:
        n = 0
        for t, v in zip(series.timestamps, series.values, strict=True):
            if t > rec.last_scored:
                rec.last = rec.detector.score(t, v)
                rec.last_scored = t
                n += 1
        return n

    def _published_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        keep = self.query.labels_keep
        kept = {k: v for k, v in labels.items() if not keep or k in keep}
        return {**kept, "for": self.query.name}

    def _publish(self, now: float) -> None:
        # A series Prometheus stopped returning (staleness: 5 minutes) is no longer published.
        fresh_after = now - max(300.0, 2 * self.query.step)
        by_labels: dict[str, Published] = {}
        for rec in self.tracked.values():
            if rec.last_scored < fresh_after:
                continue
            item = Published(self._published_labels(rec.labels), rec.last, rec.last_scored)
            key = series_key(item.labels)
            # labels_keep may merge series: the most anomalous one speaks for them.
            if (
                key not in by_labels
                or item.score.anomaly_score > by_labels[key].score.anomaly_score
            ):
                by_labels[key] = item
        self._collector.replace(self.query.name, list(by_labels.values()))
        self._metrics.series.labels(self.query.name).set(len(by_labels))

    def _persist(self) -> None:
        if self._store is None:
            return
        records = {
            key: SeriesRecord(rec.labels, rec.last_scored, rec.fitted_at, rec.detector.state_dict())
            for key, rec in self.tracked.items()
        }
        state = QueryState(self.query.detector, dict(self.query.params), records)
        self._store.save(self.query.name, state)


class AnomalyScheduler:
    """Runs one :class:`QueryRunner` per configured query on its own interval."""

    def __init__(
        self,
        config: AnomalyConfig,
        *,
        client: PrometheusClient,
        collector: ScoreCollector,
        metrics: SchedulerMetrics,
        clock: Clock = time.time,
    ) -> None:
        store = StateStore(config.state_dir) if config.state_dir else None
        self.runners: Sequence[QueryRunner] = [
            QueryRunner(
                q, client=client, collector=collector, metrics=metrics, store=store, clock=clock
            )
            for q in config.queries
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, runner: QueryRunner) -> None:
        interval = runner.query.score_every
        while True:
            started = time.monotonic()
            await runner.run_once()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def start(self) -> None:
        for runner in self.runners:
            name = f"anomaly:{runner.query.name}"
            self._tasks.append(asyncio.create_task(self._loop(runner), name=name))

    async def stop(self) -> None:
        # Cancelled until done. A loop that had already failed is not re-raised at shutdown.
        with contextlib.suppress(Exception):
            await stop_tasks(self._tasks)
        self._tasks.clear()
