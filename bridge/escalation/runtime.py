"""Notifications while the app runs: the shared session, notifiers, deliverer and scheduler.

:class:`NotificationHub` is created with the app (so the pipeline stage and handlers can hold
it) and filled by :func:`notifications_context`, a cleanup context that runs after the store
and Redis are open. Tests set ``hub.now``/``hub.sleep``/``hub.retry`` before the app starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from aiohttp import web

from bridge.escalation.access import escalation_store
from bridge.escalation.scheduler import EscalationScheduler, utcnow
from bridge.keys import CONFIG, REDIS, STORE
from bridge.notify.delivery import Deliverer, NotificationMetrics, RetryPolicy
from bridge.notify.registry import build_notifiers
from bridge.notify.slack_interactions import ReplayGuard
from bridge.routing.dispatch import Dispatcher
from bridge.routing.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bridge.routing.router import Router


@dataclass
class NotificationHub:
    metrics: NotificationMetrics
    now: Callable[[], datetime] = utcnow
    wall_clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    replay_guard: ReplayGuard = field(default_factory=ReplayGuard)
    deliverer: Deliverer | None = None
    dispatcher: Dispatcher | None = None
    scheduler: EscalationScheduler | None = None


HUB = web.AppKey("secmon_notifications", NotificationHub)


async def notifications_context(app: web.Application) -> AsyncIterator[None]:
    """Build every channel now (config errors surface at start), run the scheduler."""
    hub, config = app[HUB], app[CONFIG]
    timeout = aiohttp.ClientTimeout(total=hub.retry.attempt_timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        notifiers = build_notifiers(config.channels, session=session)
        store = escalation_store(app[STORE])
        hub.deliverer = Deliverer(
            notifiers=notifiers,
            log=store,
            dead_letters=store,
            metrics=hub.metrics,
            policy=hub.retry,
            sleep=hub.sleep,
            wall_clock=hub.wall_clock,
        )
        limits = {
            name: rules.rate_limit
            for name, rules in config.routing.channels.items()
            if rules.rate_limit is not None
        }
        redis = app[REDIS]
        limiter: RateLimiter = (
            RedisRateLimiter(redis, limits) if redis is not None else MemoryRateLimiter(limits)
        )
        router = Router(
            config.routing,
            config.escalation,
            configured=set(notifiers),
            on_unknown=hub.metrics.not_configured,
        )
        hub.dispatcher = Dispatcher(
            deliverer=hub.deliverer,
            store=lambda: escalation_store(app[STORE]),
            alerts=lambda: app[STORE],
            router=router,
            limiter=limiter,
            now=hub.now,
            max_wait_seconds=config.routing.rate_limit_max_wait_seconds,
            sleep=hub.sleep,
        )
        hub.scheduler = EscalationScheduler(
            config=config.escalation,
            store=lambda: escalation_store(app[STORE]),
            route=router,
            on_claimed=hub.dispatcher.escalate,
            now=hub.now,
        )
        if config.escalation.enabled:
            hub.scheduler.start()
        try:
            yield
        finally:
            await hub.scheduler.stop()
            await hub.dispatcher.close()
