"""The aiohttp application: routes, and the cleanup contexts that own store and Redis.

``create_app`` builds everything from the config and touches nothing outside the process; the
store is opened (and migrated) when the app starts and closed when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.anomaly.prometheus_api import PrometheusClient
from bridge.anomaly.publish import SchedulerMetrics, ScoreCollector
from bridge.api.actions import acknowledge, resolve, suppress
from bridge.api.alerts import get_alert, list_alerts
from bridge.api.deliveries import (
    alert_notifications,
    list_dead_letters,
    replay_dead_letter,
    updating_messages,
)
from bridge.api.openapi import serve_openapi
from bridge.api.slack import slack_interactions
from bridge.assets_sync import asset_sync_context
from bridge.auth import api_authenticator, webhook_authenticator
from bridge.config import BridgeConfig
from bridge.dedupe import DedupeIndex, build_dedupe_index
from bridge.escalation.runtime import HUB, NotificationHub, notifications_context
from bridge.keys import (
    API_AUTH,
    CONFIG,
    HTTP_CLIENT,
    METRICS,
    PIPELINE,
    REDIS,
    STORE,
    WEBHOOK_AUTH,
)
from bridge.metrics import BridgeMetrics
from bridge.netaddr import redact_url
from bridge.notify.delivery import NotificationMetrics
from bridge.ops import healthy, metrics, probe_store_forever, ready
from bridge.pipeline import build_pipeline
from bridge.pipeline.worker import worker_context
from bridge.receiver import receive_alertmanager
from bridge.store import StoreError, open_store
from bridge.store.postgres import PostgresStore
from bridge.sweep import lifecycle_context
from bridge.tasks import stop_tasks

logger = logging.getLogger(__name__)


class StartupError(Exception):
    """A dependency the bridge needs could not be reached at start; the message says which."""


def create_app(config: BridgeConfig, *, chores: bool = True) -> web.Application:
    """The bridge. ``chores=False`` leaves out the periodic chores that would only repeat
    another process's work (expiry sweep, open-alert counts, retention, asset sync): with
    several workers on one box, one of them runs those."""
    # Requests larger than this are refused by the receiver with a 413 before aiohttp's own
    # limit applies; keep aiohttp's limit in step for any other handler reading bodies.
    app = web.Application(client_max_size=config.max_body_bytes)
    bridge_metrics = BridgeMetrics()
    redis_url = config.redis_url.get_secret_value() if config.redis_url else None
    dedupe_index = build_dedupe_index(redis_url)
    anomaly_scores = ScoreCollector()
    bridge_metrics.register_collector(anomaly_scores)
    hub = NotificationHub(
        metrics=NotificationMetrics(
            registry=bridge_metrics.registry, channels=list(config.channels)
        )
    )
    pipeline = build_pipeline(
        config,
        store=lambda: app[STORE],
        metrics=bridge_metrics,
        dedupe_index=dedupe_index,
        anomaly_scores=anomaly_scores,
        notifications=hub,
    )
    bridge_metrics.register_stages(pipeline.names, pipeline.ordered)
    app[CONFIG] = config
    app[METRICS] = bridge_metrics
    app[PIPELINE] = pipeline
    app[HUB] = hub
    app[WEBHOOK_AUTH] = webhook_authenticator(config)
    app[API_AUTH] = api_authenticator(config)
    app.cleanup_ctx.append(store_context)
    app.cleanup_ctx.append(redis_context)
    app.cleanup_ctx.append(_closing(dedupe_index))
    app.cleanup_ctx.append(http_client_context)
    if chores:
        app.cleanup_ctx.append(lifecycle_context)
        app.cleanup_ctx.append(asset_sync_context)
    # Notifiers, deliveries and the escalation scheduler (after store and Redis are open).
    app.cleanup_ctx.append(notifications_context)
    if config.anomaly.queries:
        app.cleanup_ctx.append(_anomaly_scheduler(anomaly_scores, bridge_metrics))
    # Last: on shutdown the pipeline worker drains its queue before stages lose their clients.
    app.cleanup_ctx.append(worker_context)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/openapi.json", serve_openapi)
    app.router.add_post("/api/v1/alertmanager", receive_alertmanager)
    app.router.add_get("/api/v1/alerts", list_alerts)
    app.router.add_get("/api/v1/alerts/{id}", get_alert)
    app.router.add_post("/api/v1/alerts/{id}/ack", updating_messages(acknowledge))
    app.router.add_post("/api/v1/alerts/{id}/resolve", updating_messages(resolve))
    app.router.add_post("/api/v1/alerts/{id}/suppress", suppress)
    app.router.add_get("/api/v1/alerts/{id}/notifications", alert_notifications)
    app.router.add_post("/api/v1/slack/interactions", slack_interactions)
    app.router.add_get("/api/v1/dead-letters", list_dead_letters)
    app.router.add_post("/api/v1/dead-letters/{id}/replay", replay_dead_letter)
    return app


def _closing(index: DedupeIndex) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await index.close()

    return context


def _anomaly_scheduler(
    scores: ScoreCollector, bridge_metrics: BridgeMetrics
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Score the configured PromQL queries while the app runs (docs/anomaly.md)."""
    scheduler_metrics = SchedulerMetrics(bridge_metrics.registry)

    async def context(app: web.Application) -> AsyncIterator[None]:
        # Imported here: the scheduler pulls in scikit-learn, SciPy and pandas (about 130 MiB
        # of RSS), which a bridge without anomaly queries never needs.
        from bridge.anomaly.scheduler import AnomalyScheduler

        anomaly = app[CONFIG].anomaly
        async with aiohttp.ClientSession() as session:
            scheduler = AnomalyScheduler(
                anomaly,
                client=PrometheusClient(session, anomaly.prometheus_url),
                collector=scores,
                metrics=scheduler_metrics,
            )
            scheduler.start()
            try:
                yield
            finally:
                await scheduler.stop()

    return context


async def http_client_context(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=app[CONFIG].store.timeout_seconds * 2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[HTTP_CLIENT] = session
        yield


async def store_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    url = config.database_url.get_secret_value()
    try:
        store = await open_store(url, config.store)
    except StoreError as exc:
        raise StartupError(f"alert store {redact_url(url)}: {exc}") from exc
    app[STORE] = store
    if isinstance(store, PostgresStore):
        store.observe_delivery_groups(app[METRICS].delivery_group_size.observe)
    app[METRICS].store_up.set(1)
    logger.info("alert store ready: %s", redact_url(url))
    probe = asyncio.create_task(probe_store_forever(app, config.store.probe_interval_seconds))
    try:
        yield
    finally:
        await stop_tasks([probe])
        await store.close()


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    """Connect to Redis when configured; shared state for several replicas lives there."""
    config = app[CONFIG]
    if config.redis_url is None:
        app[REDIS] = None
        yield
        return
    url = config.redis_url.get_secret_value()
    client: Redis = Redis.from_url(url, socket_timeout=config.store.timeout_seconds)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StartupError(f"Redis {redact_url(url)}: {type(exc).__name__}: {exc}") from exc
    app[REDIS] = client
    logger.info("redis ready: %s", redact_url(url))
    try:
        yield
    finally:
        await client.aclose()
