"""Kong services, routes, plugins and consumers: fetching, plugin fingerprints and route auth.

Entities come from Kong's paginated list endpoints (``GET /plugins?size=N`` answered with
``{"data": [...], "next": "/plugins?offset=…"}``; see
https://docs.konghq.com/gateway/latest/admin-api/). Every page must decode and carry a ``data``
list of objects with an ``id``, or the whole poll fails: a partial list would make the plugins on
the missing page look deleted.

A plugin's *fingerprint* hashes what changes its effect (name, ``config``, ``enabled``,
``protocols`` and the service/route/consumer it is scoped to), so comparing fingerprints per id
across polls finds created, updated, enabled, disabled and deleted plugins without storing
configs, which can hold credentials (``config.client_secret`` in oauth2 / openid-connect).

A route is *authenticated* when an enabled authentication plugin not scoped to a consumer
applies to it: on the route itself, on its service, or globally (Kong runs a plugin on a request
when each of its route and service scopes is unset or equal to the matched one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exporter.collectors.base import CollectorError
from exporter.collectors.httpapi import ApiClient

ENTITY_KINDS = ("services", "routes", "plugins", "consumers")

# Kong's authentication plugins, OSS and Enterprise (the ``-enc``/``-advanced`` variants).
AUTH_PLUGINS = frozenset(
    {
        "key-auth",
        "key-auth-enc",
        "jwt",
        "oauth2",
        "basic-auth",
        "hmac-auth",
        "ldap-auth",
        "ldap-auth-advanced",
        "openid-connect",
        "mtls-auth",
    }
)
# Route tags that say "not reachable from outside" (``data.public == false``).
INTERNAL_TAGS = frozenset({"internal", "secmon:internal"})
GLOBAL = "(global)"

Entity = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class KongEntities:
    services: Sequence[Entity]
    routes: Sequence[Entity]
    plugins: Sequence[Entity]
    consumers: Sequence[Entity]

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in ENTITY_KINDS}


async def fetch_entities(client: ApiClient, *, page_size: int) -> KongEntities:
    """Every entity of every kind, one paginated walk per kind; raises on any bad page."""
    found: dict[str, list[Entity]] = {}
    for kind in ENTITY_KINDS:
        items: list[Entity] = []
        async for item in client.paginate_offset(f"{kind}?size={page_size}"):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                raise CollectorError(f"GET /{kind}: an item lacks a string id", reason="malformed")
            items.append(item)
        found[kind] = items
    return KongEntities(**found)


def _fk(entity: Entity, key: str) -> str | None:
    value = entity.get(key)
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class PluginRecord:
    """What the collector remembers about a plugin between polls (never its config)."""

    id: str
    type: str
    enabled: bool
    scope: str  # global | service | route | consumer
    service_name: str
    route_name: str
    consumer_name: str
    parts: tuple[tuple[str, str], ...]  # (component, digest): config, protocols, scope

    @property
    def fingerprint(self) -> str:
        return _digest([self.type, self.enabled, self.parts])


class Names:
    """Display names by id: ``name``/``username``, falling back to the id itself."""

    def __init__(self, entities: KongEntities) -> None:
        self.service = {s["id"]: str(s.get("name") or s["id"]) for s in entities.services}
        self.route = {r["id"]: str(r.get("name") or r["id"]) for r in entities.routes}
        self.route_service = {r["id"]: _fk(r, "service") for r in entities.routes}
        self.consumer = {
            c["id"]: str(c.get("username") or c.get("custom_id") or c["id"])
            for c in entities.consumers
        }


def plugin_records(entities: KongEntities, names: Names) -> dict[str, PluginRecord]:
    records = {}
    for plugin in entities.plugins:
        route_id, consumer_id = _fk(plugin, "route"), _fk(plugin, "consumer")
        service_id = _fk(plugin, "service") or (route_id and names.route_service.get(route_id))
        scope = (
            "route"
            if route_id
            else "service"
            if service_id
            else "consumer"
            if consumer_id
            else "global"
        )
        service_name = names.service.get(service_id, service_id) if service_id else ""
        scope_ids = [_fk(plugin, "service"), route_id, consumer_id]
        records[plugin["id"]] = PluginRecord(
            id=plugin["id"],
            type=str(plugin.get("name", "")),
            enabled=plugin.get("enabled", True) is not False,
            scope=scope,
            service_name=service_name or (GLOBAL if scope == "global" else ""),
            route_name=names.route.get(route_id, route_id) if route_id else "",
            consumer_name=names.consumer.get(consumer_id, consumer_id) if consumer_id else "",
            parts=(
                ("config", _digest(plugin.get("config"))),
                ("protocols", _digest(sorted(plugin.get("protocols") or []))),
                ("scope", _digest(scope_ids)),
            ),
        )
    return records


@dataclass(frozen=True, slots=True)
class PluginChange:
    action: str  # created | updated | enabled | disabled | deleted
    record: PluginRecord
    changed: tuple[str, ...] = ()


def diff_plugins(
    previous: Mapping[str, PluginRecord], current: Mapping[str, PluginRecord]
) -> list[PluginChange]:
    """Changes from one complete plugin list to the next, ordered by plugin id."""
    changes = []
    for plugin_id in sorted(previous.keys() | current.keys()):
        before, after = previous.get(plugin_id), current.get(plugin_id)
        if before is None and after is not None:
            changes.append(PluginChange("created", after))
        elif after is None and before is not None:
            changes.append(PluginChange("deleted", before))
        elif before is not None and after is not None:
            if before.fingerprint == after.fingerprint:
                continue
            changed = tuple(
                name
                for (name, old), (_, new) in zip(before.parts, after.parts, strict=True)
                if old != new
            )
            if before.enabled != after.enabled:
                action = "enabled" if after.enabled else "disabled"
                changed = ("enabled", *changed)
            else:
                action = "updated"
            if before.type != after.type:
                changed = ("name", *changed)
            changes.append(PluginChange(action, after, changed))
    return changes


@dataclass(frozen=True, slots=True)
class RouteRecord:
    id: str
    name: str
    service_name: str
    auth_plugins: tuple[str, ...]  # enabled auth plugin types that apply, sorted
    public: bool
    paths: tuple[str, ...]
    hosts: tuple[str, ...]
    protocols: tuple[str, ...]


def route_records(entities: KongEntities, names: Names) -> list[RouteRecord]:
    auth = [
        (_fk(p, "route"), _fk(p, "service"), str(p["name"]))
        for p in entities.plugins
        if p.get("name") in AUTH_PLUGINS
        and p.get("enabled", True) is not False
        and _fk(p, "consumer") is None
    ]
    records = []
    for route in entities.routes:
        service_id = _fk(route, "service")
        applying = sorted(
            {
                name
                for route_id, plugin_service, name in auth
                if route_id in (None, route["id"]) and plugin_service in (None, service_id)
            }
        )
        tags = set(route.get("tags") or [])
        records.append(
            RouteRecord(
                id=route["id"],
                name=names.route[route["id"]],
                service_name=names.service.get(service_id, service_id) if service_id else "",
                auth_plugins=tuple(applying),
                public=not (tags & INTERNAL_TAGS),
                paths=tuple(route.get("paths") or ()),
                hosts=tuple(route.get("hosts") or ()),
                protocols=tuple(route.get("protocols") or ()),
            )
        )
    return records
