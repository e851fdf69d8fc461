"""A fake Prometheus answering ``/api/v1/query_range`` the way the real one does.

Series are functions of time; the fake evaluates them on the request's grid. Tests script
failures (PromQL error, 5xx, slow answers, warnings) by setting :attr:`FakePrometheus.mode`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ValueAt = Callable[[float], float]


@dataclass
class FakePrometheus:
    series: dict[tuple[tuple[str, str], ...], ValueAt] = field(default_factory=dict)
    mode: str = "ok"  # ok | error | 500 | slow | warn
    requests: list[dict[str, str]] = field(default_factory=list)

    def add(self, labels: dict[str, str], value_at: ValueAt) -> None:
        self.series[tuple(sorted(labels.items()))] = value_at

    async def handle(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        self.requests.append(params)
        if self.mode == "500":
            return web.Response(status=503, text="overloaded")
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "error":
            body: dict[str, Any] = {
                "status": "error",
                "errorType": "bad_data",
                "error": 'parse error: unexpected "}"',
            }
            return web.json_response(body, status=400)
        start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        n = round((end - start) / step) + 1 if end >= start else 0
        grid = [start + i * step for i in range(n)]
        result = [
            {
                "metric": {"__name__": "demo", **dict(key)},
                "values": [[t, str(fn(t))] for t in grid],
            }
            for key, fn in self.series.items()
        ]
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        if self.mode == "warn":
            body["warnings"] = ["store gateway timed out: partial data"]
        return web.json_response(body)


@asynccontextmanager
async def serve(fake: FakePrometheus) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/api/v1/query_range", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
