"""A fake Kong Admin API for tests and the demo estate.

Follows the shapes in Kong's Admin API reference (https://docs.konghq.com/gateway/latest/admin-api/):

- ``GET /`` and ``GET /status``: the node-information and node-status documents ("Information
  routes"), from a mutable :class:`KongState`. The fake *reports* whatever listeners the state
  says Kong was configured with; it only ever binds a loopback address itself.
- ``GET /services``, ``/routes``, ``/plugins``, ``/consumers``: Kong's paginated list answer
  ``{"data": [...], "next": "/services?offset=…&size=…", "offset": "…"}`` (``next`` is ``null``
  on the last page); ``size`` is 1-1000, default 100, and anything else answers 400 as Kong does.
  Entities carry Kong's foreign-key form (``"service": {"id": "…"}`` or ``null``).

Control API (JSON, under ``/__fake__/``; never authenticated)::

    GET    /__fake__/config            current state
    PUT    /__fake__/config            merge fields: {"admin_listen": ["0.0.0.0:8001"], ...}
    POST   /__fake__/scenario/{name}   reset to a preset: insecure | secure | disabled
    POST   /__fake__/fail              queue scripted answers for the next requests:
               {"status": 500, "count": 2}                 HTTP error (optional "retry_after")
               {"mode": "slow", "delay": 3, "count": 1}    answer after a delay
               {"mode": "malformed"}                       body that is not JSON
               {"mode": "truncate"}                        the first half of the JSON body
               {"mode": "drop_field", "field": "configuration.admin_listen"}
               any of them with "path": "/plugins"         only for requests to that path
    DELETE /__fake__/fail              clear the queue
    GET    /__fake__/requests          requests seen: [{"path", "query", "token_sent", "token_ok"}]
    POST   /__fake__/entities/{kind}          add a service/route/plugin/consumer (id generated)
    PATCH  /__fake__/entities/{kind}/{id}     merge fields ("config" merges key by key)
    DELETE /__fake__/entities/{kind}/{id}     delete one
    POST   /__fake__/generate          bulk estate: {"services": 200, "plugins_per_service": 10}

When ``token`` is set in the state, Admin API requests without a matching ``Kong-Admin-Token``
header get 401, as Kong Enterprise RBAC answers. Run standalone for the demo::

    python -m exporter.fakes.kong --listen 127.0.0.1:18001 --scenario insecure
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import hmac
import ipaddress
import json
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
    # kind -> entities in insertion order; kinds are ENTITY_KINDS.
    entities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


ENTITY_KINDS = ("services", "routes", "plugins", "consumers")
_CREATED_AT = 1_700_000_000


def _fk(entity_id: str | None) -> dict[str, str] | None:
    return {"id": entity_id} if entity_id else None


def new_entity(kind: str, fields_: dict[str, Any]) -> dict[str, Any]:
    """An entity with Kong's default fields filled in (ids are UUIDs, as Kong generates)."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "created_at": _CREATED_AT,
        "updated_at": _CREATED_AT,
        "tags": None,
    }
    if kind == "services":
        base.update(
            name=None, protocol="http", host="upstream.internal", port=80, path=None,
            retries=5, connect_timeout=60000, enabled=True,
        )  # fmt: skip
    elif kind == "routes":
        base.update(
            name=None, protocols=["http", "https"], methods=None, hosts=None, paths=None,
            strip_path=True, preserve_host=False, service=None,
        )  # fmt: skip
    elif kind == "plugins":
        base.update(
            name="", instance_name=None, config={}, enabled=True, service=None, route=None,
            consumer=None, protocols=["grpc", "grpcs", "http", "https"],
        )  # fmt: skip
    elif kind == "consumers":
        base.update(username=None, custom_id=None)
    base.update(fields_)
    return base


def demo_entities(*, secure: bool) -> dict[str, list[dict[str, Any]]]:
    """A small estate: billing behind jwt, a web service, a health route tagged internal.

    Insecure: ``web`` has no authentication plugin and its ``cors`` plugin is disabled.
    """

    def ids(prefix: str, n: int) -> str:
        return f"{prefix}-0000-4000-8000-{n:012d}"

    billing = new_entity("services", {"id": ids("5b0f0a8e", 1), "name": "billing"})
    web_ = new_entity("services", {"id": ids("5b0f0a8e", 2), "name": "web"})
    routes = [
        new_entity(
            "routes",
            {"id": ids("9d3c0000", n), "name": name, "paths": [path], "service": _fk(sid)},
        )
        for n, name, path, sid in (
            (1, "billing-api", "/billing", billing["id"]),
            (2, "web", "/", web_["id"]),
            (3, "health", "/health", web_["id"]),
        )
    ]
    routes[2]["tags"] = ["internal"]
    plugin_specs: list[tuple[str, str | None, dict[str, Any]]] = [
        ("jwt", billing["id"], {"claims_to_verify": ["exp"], "key_claim_name": "iss"}),
        ("rate-limiting", None, {"minute": 600, "policy": "local"}),
        ("cors", web_["id"], {"origins": ["https://www.example.com"]}),
    ]
    if secure:
        plugin_specs.append(("key-auth", web_["id"], {"key_names": ["apikey"]}))
    plugins = [
        new_entity(
            "plugins",
            {"id": ids("c0ffee00", n), "name": name, "service": _fk(sid), "config": config},
        )
        for n, (name, sid, config) in enumerate(plugin_specs, start=1)
    ]
    plugins[2]["enabled"] = secure
    consumers = [
        new_entity("consumers", {"id": ids("a1a1a1a1", n), "username": name})
        for n, name in ((1, "alice"), (2, "bob"))
    ]
    return {
        "services": [billing, web_],
        "routes": routes,
        "plugins": plugins,
        "consumers": consumers,
    }


SCENARIOS: dict[str, KongState] = {
    "insecure": KongState(admin_listen=list(_INSECURE_ADMIN), entities=demo_entities(secure=False)),
    "secure": KongState(admin_listen=list(_SECURE_ADMIN), entities=demo_entities(secure=True)),
    "disabled": KongState(admin_listen=["off"]),
}


def scenario(name: str) -> KongState:
    """A fresh, independent copy of a preset (presets hold mutable lists)."""
    return copy.deepcopy(SCENARIOS[name])


@dataclass
class Failure:
    mode: str = "status"  # status | slow | malformed | truncate | drop_field
    status: int = 500
    delay: float = 0.0
    field: str = "configuration"
    retry_after: int | None = None
    path: str | None = None  # only requests to this path; None: the next request of any path


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


def _next_failure(fake: FakeKong, path: str) -> Failure | None:
    for index, failure in enumerate(fake.failures):
        if failure.path is None or failure.path == path:
            del fake.failures[index]
            return failure
    return None


async def _admin(request: web.Request, document: dict[str, Any]) -> web.Response:
    fake = request.app[FAKE_KEY]
    sent, ok = _authorized(request, fake)
    fake.requests.append(
        {"path": request.path, "query": request.query_string, "token_sent": sent, "token_ok": ok}
    )
    if not ok:
        return web.json_response(
            {"message": "Invalid credentials. Token or User credentials required"}, status=401
        )
    failure = _next_failure(fake, request.path)
    if failure is not None:
        if failure.mode == "slow":
            await asyncio.sleep(failure.delay)
        elif failure.mode == "malformed":
            return web.Response(
                text='{"version": "3.6.1", "configuration": ', content_type="application/json"
            )
        elif failure.mode == "truncate":
            # A connection cut mid-body behind a proxy that does not check lengths.
            text = json.dumps(document)
            return web.Response(text=text[: len(text) // 2], content_type="application/json")
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


def _offset_token(index: int) -> str:
    # Kong's offsets are opaque base64 strings; callers must only ever follow ``next``.
    return base64.urlsafe_b64encode(json.dumps([index]).encode()).decode().rstrip("=")


def _offset_index(token: str) -> int:
    padded = token + "=" * (-len(token) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], int)):
        raise ValueError(token)
    return value[0]


async def list_entities(request: web.Request) -> web.Response:
    """``GET /{kind}?size=&offset=``: one page in Kong's list shape."""
    kind = request.path.strip("/")
    items = request.app[FAKE_KEY].state.entities.get(kind, [])
    try:
        size = int(request.query.get("size", "100"))
        start = _offset_index(request.query["offset"]) if "offset" in request.query else 0
    except (ValueError, TypeError):
        return web.json_response(
            {"message": "invalid offset or size", "name": "invalid offset", "code": 7}, status=400
        )
    if not 1 <= size <= 1000:
        return web.json_response(
            {"message": "size must be an integer between 1 and 1000", "name": "invalid size",
             "code": 7},
            status=400,
        )  # fmt: skip
    page = items[start : start + size]
    offset = _offset_token(start + size) if start + size < len(items) else None
    document: dict[str, Any] = {
        "data": page,
        "next": f"/{kind}?offset={offset}&size={size}" if offset else None,
    }
    if offset:
        document["offset"] = offset
    return await _admin(request, document)


def _public(state: KongState) -> dict[str, Any]:
    # Even a fake's token stays out of answers: tests grep output for leaked tokens.
    document = asdict(state)
    document["token"] = "<set>" if state.token else None
    document["entities"] = {kind: len(items) for kind, items in state.entities.items()}
    return document


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in ENTITY_KINDS:
        raise web.HTTPNotFound(text=f"kinds: {list(ENTITY_KINDS)}")
    return kind


def _find(state: KongState, kind: str, entity_id: str) -> dict[str, Any]:
    for entity in state.entities.get(kind, []):
        if entity["id"] == entity_id or entity.get("name") == entity_id:
            return entity
    raise web.HTTPNotFound(text=f"no {kind} {entity_id}")


async def add_entity(request: web.Request) -> web.Response:
    kind = _kind(request)
    entity = new_entity(kind, dict(await request.json()))
    request.app[FAKE_KEY].state.entities.setdefault(kind, []).append(entity)
    return web.json_response(entity, status=201)


async def patch_entity(request: web.Request) -> web.Response:
    kind = _kind(request)
    entity = _find(request.app[FAKE_KEY].state, kind, request.match_info["id"])
    changes = dict(await request.json())
    if isinstance(changes.get("config"), dict):
        entity["config"] = {**entity.get("config", {}), **changes.pop("config")}
    entity.update(changes)
    entity["updated_at"] = int(entity.get("updated_at", _CREATED_AT)) + 1
    return web.json_response(entity)


async def delete_entity(request: web.Request) -> web.Response:
    kind = _kind(request)
    state = request.app[FAKE_KEY].state
    entity = _find(state, kind, request.match_info["id"])
    state.entities[kind].remove(entity)
    # Kong answers 204; the control API answers JSON so every control call decodes alike.
    return web.json_response({"deleted": entity["id"]})


async def generate(request: web.Request) -> web.Response:
    """A large estate for benchmarks: N services, one route each, M plugins per service."""
    spec = dict(await request.json())
    services, per_service = int(spec.get("services", 0)), int(spec.get("plugins_per_service", 0))
    names = ["rate-limiting", "cors", "acl", "request-transformer", "correlation-id", "jwt"]
    entities: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ENTITY_KINDS}
    for i in range(services):
        service = new_entity("services", {"name": f"svc-{i:04d}"})
        entities["services"].append(service)
        entities["routes"].append(
            new_entity("routes", {"name": f"route-{i:04d}", "service": _fk(service["id"])})
        )
        for j in range(per_service):
            entities["plugins"].append(
                new_entity(
                    "plugins",
                    {
                        "name": names[j % len(names)],
                        "instance_name": f"p-{i:04d}-{j:02d}",
                        "service": _fk(service["id"]),
                        "config": {"n": j},
                    },
                )
            )
    request.app[FAKE_KEY].state.entities = entities
    return web.json_response({kind: len(items) for kind, items in entities.items()})


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
    for kind in ENTITY_KINDS:
        app.router.add_get(f"/{kind}", list_entities)
    app.router.add_get("/__fake__/config", get_config)
    app.router.add_put("/__fake__/config", put_config)
    app.router.add_post("/__fake__/scenario/{name}", set_scenario)
    app.router.add_post("/__fake__/fail", add_failure)
    app.router.add_delete("/__fake__/fail", clear_failures)
    app.router.add_get("/__fake__/requests", list_requests)
    app.router.add_post("/__fake__/entities/{kind}", add_entity)
    app.router.add_patch("/__fake__/entities/{kind}/{id}", patch_entity)
    app.router.add_delete("/__fake__/entities/{kind}/{id}", delete_entity)
    app.router.add_post("/__fake__/generate", generate)
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
