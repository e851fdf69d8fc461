"""The exporter's HTTP face: ``/metrics``, ``/-/healthy``, ``/-/ready`` and a small index.

``/metrics`` serves the exporter's own :class:`~prometheus_client.CollectorRegistry` (never the
global one, so nothing imported by accident leaks in). The ``Accept`` header picks the text or
OpenMetrics format. With an :class:`~exporter.exposition.Exposition` (as ``serve`` wires it) a
scrape joins text pre-rendered when the data changed; a format it does not pre-render, or a
family it cannot, goes through prometheus-client's encoder over the registry instead. Either way
it runs in the default executor: a scrape right after a change may still render a large estate,
and the event loop (and the pollers) must stay responsive meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import html
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from exporter.exposition import Exposition, UnsupportedFamily, format_for
from exporter.inventory import Inventory
from exporter.runtime import CollectorState, Runtime

REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
RUNTIME_KEY = web.AppKey("runtime", Runtime)
INVENTORY_KEY = web.AppKey("inventory", Inventory)
EXPOSITION_KEY = web.AppKey("exposition", Exposition)


def _render(
    exposition: Exposition | None,
    registry: CollectorRegistry,
    encoder: Callable[[CollectorRegistry], bytes],
) -> bytes:
    fmt = format_for(encoder)
    if exposition is not None and fmt is not None:
        try:
            return exposition.render(fmt)
        except UnsupportedFamily:
            pass  # same families, slow path
    return encoder(registry)


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    exposition = request.app.get(EXPOSITION_KEY)
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    render = functools.partial(_render, exposition, registry, encoder)
    body = await asyncio.get_running_loop().run_in_executor(None, render)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    if runtime.ready:
        return web.Response(text="OK\n")
    waiting = ", ".join(s.name for s in runtime.states if s.attempts == 0)
    return web.Response(status=503, text=f"waiting for first poll of: {waiting}\n")


async def assets(request: web.Request) -> web.Response:
    """``GET /api/v1/assets``: the asset store (declared + discovered, owner, score) as JSON."""
    inventory = request.app[INVENTORY_KEY]
    rows = await asyncio.get_running_loop().run_in_executor(None, inventory.assets)
    return web.json_response({"assets": [row.to_json() for row in rows]})


def _status(state: CollectorState) -> str:
    if state.attempts == 0:
        return "pending"
    return "down" if state.consecutive_failures else "up"


async def index(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    rows = "".join(
        f"<li>{html.escape(s.name)} ({html.escape(s.scheduled.type)}): {_status(s)}</li>"
        for s in runtime.states
    )
    body = (
        "<!doctype html><html><head><title>secmon exporter</title></head><body>"
        "<h1>secmon exporter</h1>"
        '<p><a href="metrics">/metrics</a> · <a href="-/healthy">/-/healthy</a> · '
        '<a href="-/ready">/-/ready</a></p>'
        f"<h2>Collectors</h2><ul>{rows or '<li>none configured</li>'}</ul></body></html>"
    )
    return web.Response(text=body, content_type="text/html")


async def _run_collectors(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME_KEY]
    await runtime.start()
    yield
    await runtime.stop()


def create_app(
    *,
    runtime: Runtime,
    registry: CollectorRegistry,
    inventory: Inventory | None = None,
    exposition: Exposition | None = None,
) -> web.Application:
    """The aiohttp application; it starts the collectors' polling and stops it on shutdown.

    ``exposition`` must expose the same collectors as ``registry``, in the same order.
    """
    app = web.Application()
    app[REGISTRY_KEY] = registry
    if exposition is not None:
        app[EXPOSITION_KEY] = exposition
    app[RUNTIME_KEY] = runtime
    app[INVENTORY_KEY] = inventory if inventory is not None else Inventory()
    app.cleanup_ctx.append(_run_collectors)
    app.router.add_get("/", index)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/api/v1/assets", assets)
    return app
