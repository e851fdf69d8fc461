"""A fake Kong Admin API for tests and the demo estate.

Answers ``GET /`` and ``GET /status`` in the shapes Kong documents for its node-information and
node-status endpoints (https://docs.konghq.com/gateway/latest/admin-api/, "Information routes"),
from a mutable :class:`KongState`. The fake *reports* whatever listeners the state says Kong was
configured with; it only ever binds a loopback address itself.

Control API (JSON, under ``/__fake__/``; never authenticated)::

    GET    /__fake__/config            current state
    PUT    /__fake__/config            merge fields: {"admin_listen": ["0.0.0.0:8001"], ...}
    POST   /__fake__/scenario/{name}   reset to a preset: insecure | secure | disabled
    POST   /__fake__/fail              queue scripted answers for the next requests:
               {"status": 500, "count": 2}                 HTTP error (optional "retry_after")
               {"mode": "slow", "delay": 3, "count": 1}    answer after a delay
               {"mode": "malformed"}                       body that is not JSON
               {"mode": "drop_field", "field": "configuration.admin_listen"}
    DELETE /__fake__/fail              clear the queue
    GET    /__fake__/requests          requests seen: [{"path", "token_sent", "token_ok"}]

When ``token`` is set in the state, Admin API requests without a matching ``Kong-Admin-Token``
header get 401, as Kong Enterprise RBAC answers. Run standalone for the demo::

    python -m exporter.fakes.kong --listen 127.0.0.1:18001 --scenario insecure
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hmac
import ipaddress
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from aiohttp import web

_DEFAULT_PROXY = ["0.0.0.0:8000 reuseport backlog=16384", "0.0.0.0:8443 http2 ssl reuseport"]
_INSECURE_ADMIN = ["0.0.0.0:8001 reuseport backlog=16384"]
_SECURE_ADMIN = ["127.0.0.1:8001 reuseport backlog=16384", "10.0.0.10:8444 http2 ssl reuseport"]


@dataclass
class KongState:
    """What the fake Kong node reports; every field can be changed through the control API."""

    admin_listen: list[str] = field(default_factory=lambda: list(_SECURE_ADMIN))
    proxy_listen: list[str] = field(default_factory=lambda: list(_DEFAULT_PROXY))
    status_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:8007"])
    admin_gui_listen: list[str] = field(default_factory=lambda: ["off"])
    node_id: str = "7b1c8e1e-4c3f-4a52-9d5e-2f8a1b6c0d11"
    hostname: str = "kong-fake"
    version: str = "3.6.1"
    token: str | None = None


SCENARIOS: dict[str, KongState] = {
    "insecure": KongState(admin_listen=list(_INSECURE_ADMIN)),
    "secure": KongState(admin_listen=list(_SECURE_ADMIN)),
    "disabled": KongState(admin_listen=["off"]),
}


def scenario(name: str) -> KongState:
    """A fresh, independent copy of a preset (presets hold mutable lists)."""
    return copy.deepcopy(SCENARIOS[name])


@dataclass
class Failure:
    mode: str = "status"  # status | slow | malformed | drop_field
    status: int = 500
    delay: float = 0.0
    field: str = "configuration"
    retry_after: int | None = None


@dataclass
class FakeKong:
    state: KongState = field(default_factory=KongState)
    failures: deque[Failure] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def root_document(self) -> dict[str, Any]:
        s = self.state
        return {
            "version": s.version,
            "edition": "community",
            "tagline": "Welcome to kong",
            "lua_version": "LuaJIT 2.1.0-20231117",
            "hostname": s.hostname,
            "node_id": s.node_id,
            "timers": {"running": 0, "pending": 6},
            "plugins": {
                "available_on_server": {"key-auth": True, "acl": True},
                "enabled_in_cluster": [],
            },
            "configuration": {
                "admin_listen": list(s.admin_listen),
                "proxy_listen": list(s.proxy_listen),
                "status_listen": list(s.status_listen),
                "admin_gui_listen": list(s.admin_gui_listen),
                "database": "off",
                "role": "traditional",
                "log_level": "notice",
            },
        }

    def status_document(self) -> dict[str, Any]:
        return {
            "database": {"reachable": True},
            "memory": {
                "workers_lua_vms": [{"http_allocated_gc": "0.02 MiB", "pid": 18477}],
                "lua_shared_dicts": {
                    "kong": {"allocated_slabs": "0.04 MiB", "capacity": "5.00 MiB"}
                },
            },
            "server": {
                "connections_accepted": 1,
                "connections_active": 1,
                "connections_handled": 1,
                "connections_reading": 0,
                "connections_waiting": 0,
                "connections_writing": 1,
                "total_requests": len(self.requests),
            },
        }


FAKE_KEY = web.AppKey("fake_kong", FakeKong)


def _authorized(request: web.Request, fake: FakeKong) -> tuple[bool, bool]:
    sent = request.headers.get("Kong-Admin-Token")
    if fake.state.token is None:
        return sent is not None, True
    ok = sent is not None and hmac.compare_digest(sent.encode(), fake.state.token.encode())
    return sent is not None, ok


async def _admin(request: web.Request, document: dict[str, Any]) -> web.Response:
    fake = request.app[FAKE_KEY]
    sent, ok = _authorized(request, fake)
    fake.requests.append({"path": request.path, "token_sent": sent, "token_ok": ok})
    if not ok:
        return web.json_response(
            {"message": "Invalid credentials. Token or User credentials required"}, status=401
        )
    if fake.failures:
        failure = fake.failures.popleft()
        if failure.mode == "slow":
            await asyncio.sleep(failure.delay)
        elif failure.mode == "malformed":
            return web.Response(
                text='{"version": "3.6.1", "configuration": ', content_type="application/json"
            )
        elif failure.mode == "drop_field":
            *parents, leaf = failure.field.split(".")  # "configuration.admin_listen" works too
            target = document
            for part in parents:
                target = target.get(part, {})
            target.pop(leaf, None)
        else:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else None
            return web.json_response(
                {"message": "An unexpected error occurred"}, status=failure.status, headers=headers
            )
    return web.json_response(document)


async def root(request: web.Request) -> web.Response:
    return await _admin(request, request.app[FAKE_KEY].root_document())


async def status(request: web.Request) -> web.Response:
    return await _admin(request, request.app[FAKE_KEY].status_document())


def _public(state: KongState) -> dict[str, Any]:
    # Even a fake's token stays out of answers: tests grep output for leaked tokens.
    document = asdict(state)
    document["token"] = "<set>" if state.token else None
    return document


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(_public(request.app[FAKE_KEY].state))


async def put_config(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    changes = await request.json()
    known = {f.name for f in fields(KongState)}
    unknown = sorted(set(changes) - known) if isinstance(changes, dict) else ["<not an object>"]
    if unknown:
        return web.json_response({"error": f"unknown fields: {unknown}"}, status=400)
    fake.state = replace(fake.state, **changes)
    return web.json_response(_public(fake.state))


async def set_scenario(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in SCENARIOS:
        return web.json_response({"error": f"scenarios: {sorted(SCENARIOS)}"}, status=404)
    fake = request.app[FAKE_KEY]
    fake.state = replace(scenario(name), token=fake.state.token)
    return web.json_response(_public(fake.state))


async def add_failure(request: web.Request) -> web.Response:
    spec = dict(await request.json())
    count = int(spec.pop("count", 1))
    failure = Failure(**spec)
    request.app[FAKE_KEY].failures.extend(replace(failure) for _ in range(count))
    return web.json_response({"queued": len(request.app[FAKE_KEY].failures)})


async def clear_failures(request: web.Request) -> web.Response:
    request.app[FAKE_KEY].failures.clear()
    return web.json_response({"queued": 0})


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAKE_KEY].requests)


def create_app(state: KongState | None = None) -> web.Application:
    """The fake Kong app; pass a state (e.g. ``replace(SCENARIOS["insecure"])``) to start from."""
    app = web.Application()
    app[FAKE_KEY] = FakeKong(state=state or KongState(node_id=str(uuid.uuid4())))
    app.router.add_get("/", root)
    app.router.add_get("/status", status)
    app.router.add_get("/__fake__/config", get_config)
    app.router.add_put("/__fake__/config", put_config)
    app.router.add_post("/__fake__/scenario/{name}", set_scenario)
    app.router.add_post("/__fake__/fail", add_failure)
    app.router.add_delete("/__fake__/fail", clear_failures)
    app.router.add_get("/__fake__/requests", list_requests)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--listen", default="127.0.0.1:18001", metavar="HOST:PORT")
    parser.add_argument("--scenario", default="insecure", choices=sorted(SCENARIOS))
    parser.add_argument("--token", help="require this Kong-Admin-Token (Kong Enterprise RBAC)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    if not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        parser.error("the fake only binds loopback addresses; it *reports* other listeners")
    state = replace(scenario(args.scenario), token=args.token)
    print(f"fake Kong Admin API ({args.scenario}) on http://{args.listen}/", flush=True)
    web.run_app(create_app(state), host=host, port=int(port), print=None)


if __name__ == "__main__":
    main()
