"""Background lifecycle chores: the expiry sweep, the open-alerts gauge and body retention.

Alertmanager re-sends every firing alert each ``repeat_interval`` but never sends the
resolution of a silenced alert, so an alert that stops arriving would stay open forever. The
sweep resolves active alerts whose last firing receipt is older than ``expire_after`` (twice
the repeat interval by default), with a timeline entry saying so. Groups that sent truncated
payloads meanwhile are left alone: a missing alert is not a resolved one.

The same sweep ends suppressions that were given a ``duration``: an alert Alertmanager still
calls firing is open again (one it resolved meanwhile stays suppressed: nothing left to do).

The open-alerts gauge is a count cached here and refreshed on a timer, so a scrape never
queries the store. Raw webhook bodies are emptied once older than ``payload_retention_days``:
they are the bulk of the history and only needed for debugging recent deliveries. Finished
alerts, with every row that names them, security events and dead letters are deleted once
older than ``history_retention_days``; an alert still active, re-sent or awaiting the pipeline
stays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bridge.keys import CONFIG, METRICS, STORE
from bridge.store import StoreError
from bridge.store.records import PrunedHistory
from bridge.tasks import stop_tasks

logger = logging.getLogger(__name__)


async def expire_once(app: web.Application, *, now: datetime | None = None) -> int:
    """Resolve alerts that stopped arriving, reopen ended suppressions; returns how many expired."""
    now = now or datetime.now(UTC)
    for alert in await app[STORE].end_suppressions(now=now):
        logger.info("alert reopened id=%d: suppression ended, still firing", alert.id)
    cutoff = now - timedelta(seconds=app[CONFIG].lifecycle.expire_after)
    expired = await app[STORE].expire_stale(cutoff=cutoff, now=now)
    metrics = app[METRICS]
    for alert in expired:
        metrics.alerts_expired.inc()
        metrics.observe_resolved(alert.severity, (now - alert.created_at).total_seconds())
        logger.info(
            "alert expired id=%d rule_id=%s: no firing receipt since %s",
            alert.id,
            alert.rule_id or "-",
            cutoff.isoformat(),
        )
    return len(expired)


PRUNE_BATCH = 1000  # bodies emptied per statement, so one run never holds a long transaction
PRUNE_MAX_BATCHES = 100  # per run; a larger backlog continues on the next run
# History batches run for up to this long per run (about 600,000 alerts on PostgreSQL on two
# cores), one short transaction each; a larger backlog continues on the next run.
HISTORY_PRUNE_BUDGET_SECONDS = 60.0


async def prune_payloads(app: web.Application, *, now: datetime | None = None) -> int:
    """Empty raw webhook bodies older than the retention; returns how many."""
    days = app[CONFIG].lifecycle.payload_retention_days
    if days is None:
        return 0
    before = (now or datetime.now(UTC)) - timedelta(days=days)
    pruned = 0
    for _ in range(PRUNE_MAX_BATCHES):
        done = await app[STORE].prune_payload_bodies(received_before=before, limit=PRUNE_BATCH)
        pruned += done
        if done < PRUNE_BATCH:
            break
    if pruned:
        app[METRICS].payload_bodies_pruned.inc(pruned)
        logger.info("retention: emptied %d webhook bodies received before %s", pruned, before)
    return pruned


async def prune_history(app: web.Application, *, now: datetime | None = None) -> PrunedHistory:
    """Delete finished alerts, security events and dead letters older than the history
    retention, batch after batch while batches come back full, for up to a time budget."""
    days = app[CONFIG].lifecycle.history_retention_days
    if days is None:
        return PrunedHistory(alerts=0, events=0)
    before = (now or datetime.now(UTC)) - timedelta(days=days)
    alerts = events = dead_letters = 0
    deadline = time.monotonic() + HISTORY_PRUNE_BUDGET_SECONDS
    while True:
        done = await app[STORE].prune_history(before=before, limit=PRUNE_BATCH)
        alerts += done.alerts
        events += done.events
        dead_letters += done.dead_letters
        if not done.more or time.monotonic() > deadline:
            break
    metrics = app[METRICS]
    metrics.history_pruned.labels(kind="alerts").inc(alerts)
    metrics.history_pruned.labels(kind="security_events").inc(events)
    metrics.history_pruned.labels(kind="dead_letters").inc(dead_letters)
    if alerts or events or dead_letters:
        logger.info(
            "retention: deleted %d finished alerts, %d security events and %d dead letters "
            "older than %s",
            alerts,
            events,
            dead_letters,
            before,
        )
    return PrunedHistory(alerts=alerts, events=events, dead_letters=dead_letters)


async def retention_once(app: web.Application) -> None:
    await prune_payloads(app)
    await prune_history(app)


async def refresh_open_alerts(app: web.Application) -> None:
    app[METRICS].set_open_alerts(await app[STORE].open_counts())


async def _every(interval: float, chore: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        try:
            await chore()
        except StoreError as exc:
            # The store probe reports outages; the chore simply tries again next time.
            logger.debug("%s skipped: %s", what, exc)
        except Exception:
            logger.exception("%s failed", what)
        await asyncio.sleep(interval)


async def lifecycle_context(app: web.Application) -> AsyncIterator[None]:
    """Run the chores while the app runs (after the store is open)."""
    options = app[CONFIG].lifecycle
    tasks = [
        asyncio.create_task(
            _every(options.sweep_interval_seconds, lambda: expire_once(app), "expiry sweep")
        ),
        asyncio.create_task(
            _every(
                options.open_alerts_refresh_seconds,
                lambda: refresh_open_alerts(app),
                "open alerts refresh",
            )
        ),
        asyncio.create_task(
            _every(options.retention_interval_seconds, lambda: retention_once(app), "retention")
        ),
    ]
    try:
        yield
    finally:
        await stop_tasks(tasks)
