"""Operational endpoints: ``/-/healthy``, ``/-/ready`` and ``/metrics``.

Healthy means the process serves HTTP; ready means it can also store alerts right now, so a
load balancer (or Alertmanager's operator) can tell a live bridge from a useful one.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bridge.keys import METRICS, STORE
from bridge.store import StoreError

logger = logging.getLogger(__name__)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="secmon-bridge is healthy\n")


async def ready(request: web.Request) -> web.Response:
    up = await probe_store(request.app)
    if not up:
        return web.Response(
            status=503, text="secmon-bridge is not ready: alert store unavailable\n"
        )
    return web.Response(text="secmon-bridge is ready\n")


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def probe_store(app: web.Application) -> bool:
    """Ping the store and record the outcome in ``secmon_bridge_store_up``."""
    try:
        await app[STORE].ping()
    except StoreError as exc:
        app[METRICS].store_up.set(0)
        logger.debug("store probe failed: %s", exc)
        return False
    app[METRICS].store_up.set(1)
    return True


async def probe_store_forever(app: web.Application, interval: float) -> None:
    """Keep ``secmon_bridge_store_up`` current between webhooks; logs changes only."""
    was_up = True
    while True:
        await asyncio.sleep(interval)
        up = await probe_store(app)
        if up != was_up:
            logger.log(
                logging.INFO if up else logging.WARNING,
                "alert store is %s",
                "reachable again" if up else "unavailable",
            )
            was_up = up
