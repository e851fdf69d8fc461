"""What every vendor fake shares: a request recorder, scripted faults, a control API.

Faults follow python-slack-sdk's mock server idea: a script by path decides, before the real
handler runs, whether this request gets a 429 with ``Retry-After``, a 5xx, or a delay (the
client times out). Each fault applies ``count`` times, then the fake answers normally again.

Control API (JSON, under ``/__fake__/``, never authenticated)::

    POST   /__fake__/fail      {"path": "/api/chat.*", "status": 429, "retry_after": 3,
                                "count": 1, "delay": 0, "body": {...}}
    DELETE /__fake__/fail      forget every fault
    GET    /__fake__/requests  [{"method", "path", "query", "headers", "body"}, ...]
    DELETE /__fake__/requests  forget them
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from bridge.frozen import frozen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Fault:
    path: str  # fnmatch pattern over the request path
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0  # seconds to stall before answering (longer than the client's timeout)
    count: int = 1
    body: Any = None


@frozen
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = self.body.decode("utf-8", "replace")
        return data


@dataclass
class FakeService:
    """Recorder and fault script; vendor fakes subclass it and add their routes."""

    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def fail(
        self,
        path: str,
        *,
        status: int = 500,
        retry_after: float | None = None,
        delay: float = 0.0,
        count: int = 1,
        body: Any = None,
    ) -> None:
        """Script the next ``count`` requests matching ``path`` to fail this way."""
        self.faults.append(Fault(path, status, retry_after, delay, count, body))

    def received(self, path: str = "*") -> list[RecordedRequest]:
        return [r for r in self.requests if fnmatch.fnmatchcase(r.path, path)]

    def fault_body(self, fault: Fault) -> Any:
        """The body of a scripted error answer; vendors override to use their error shape."""
        return fault.body if fault.body is not None else {"error": f"scripted {fault.status}"}

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and fnmatch.fnmatchcase(path, fault.path):
                fault.count -= 1
                return fault
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/__fake__/"):
            return await handler(request)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        fault = self._take_fault(request.path)
        if fault is None:
            return await handler(request)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status < 400:  # a pure delay: answer normally, late
            return await handler(request)
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        return web.json_response(self.fault_body(fault), status=fault.status, headers=headers)

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_post("/__fake__/fail", self._control_fail)
        app.router.add_delete("/__fake__/fail", self._control_clear_faults)
        app.router.add_get("/__fake__/requests", self._control_requests)
        app.router.add_delete("/__fake__/requests", self._control_clear_requests)
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _control_fail(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.fail(
            data["path"],
            status=int(data.get("status", 500)),
            retry_after=data.get("retry_after"),
            delay=float(data.get("delay", 0.0)),
            count=int(data.get("count", 1)),
            body=data.get("body"),
        )
        return web.json_response({"ok": True})

    async def _control_clear_faults(self, _request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def _control_requests(self, _request: web.Request) -> web.Response:
        return web.json_response([r.to_dict() for r in self.requests])

    async def _control_clear_requests(self, _request: web.Request) -> web.Response:
        self.requests.clear()
        return web.json_response({"ok": True})
