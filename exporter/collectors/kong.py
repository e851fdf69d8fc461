"""Kong Admin API: node discovery, services, routes, plugins and consumers.

One poll asks (https://docs.konghq.com/gateway/latest/admin-api/): ``GET /`` (node information,
listener settings), ``GET /status``, then ``/services``, ``/routes``, ``/plugins`` and
``/consumers``, each walked page by page (``?size=page_size``, following ``next``). Every request
goes through the shared :class:`~exporter.collectors.httpapi.ApiClient`; any failure raises, so
the runtime keeps the last good snapshot and no half-read plugin list is ever compared.

Events (source ``kong_monitor``, platform ``kong``, asset = the collector's name):

- ``service_discovery`` (state), one per network-reachable listener: ``listener``, ``address``,
  ``port``, ``protocol``, ``endpoint`` (``"admin_listen 0.0.0.0:8001"``), ``flags``,
  ``node_id``, ``hostname``, ``kong_version``. Loopback listeners (127.0.0.0/8, ``::1``,
  ``localhost``) are the hardening Kong recommends and produce none; other hostnames are not
  resolved and count as reachable; unix sockets are not network listeners.
- ``route_inventory`` (state), one per route: ``route_id``, ``route_name``, ``service_name``,
  ``auth_plugins`` (how many authentication plugins apply), ``auth_plugin_types``, ``public``
  (false when tagged ``internal``), ``paths``, ``hosts``, ``protocols``.
- ``plugin_inventory`` (state), one per plugin: ``plugin_id``, ``plugin_type``, ``enabled``,
  ``scope`` (global|service|route|consumer), ``service_name`` (``"(global)"`` for global
  plugins), ``route_name``, ``consumer_name``.
- ``plugin_configuration_change`` (change), from the second poll on: ``action``
  (created|updated|enabled|disabled|deleted), ``changed`` (``config``, ``enabled``,
  ``protocols``, ``scope``, ``name``) and the ``plugin_inventory`` fields. The first poll only
  records a baseline: an exporter restart is not a change.

Metric lines: see :mod:`exporter.collectors.kong_metrics`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from prometheus_client.core import Metric
from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from exporter.collectors.base import CollectorError, Snapshot
from exporter.collectors.httpapi import ApiClient
from exporter.collectors.kong_entities import (
    Names,
    PluginRecord,
    RouteRecord,
    diff_plugins,
    fetch_entities,
    plugin_records,
    route_records,
)
from exporter.collectors.kong_listeners import (
    LISTENER_KEYS,
    Listener,
    listener_specs,
    parse_listener,
    root_field,
)
from exporter.collectors.kong_metrics import (
    api_metrics,
    change_metrics,
    entity_metrics,
    node_metrics,
    status_metrics,
)
from exporter.config import CollectorConfig
from exporter.events import Event

__all__ = ["KongCollector", "KongConfig", "Listener", "parse_listener"]

_REQUIRED_ROOT_FIELDS = ("node_id", "hostname", "version")


class KongConfig(CollectorConfig):
    """``type: kong``: one Kong node's Admin API."""

    type: Literal["kong"]
    admin_url: HttpUrl
    token: SecretStr | None = None
    token_file: Path | None = None
    verify_tls: bool = True
    # Services, routes, plugins and consumers; off leaves discovery only (``GET /`` + /status).
    entities: bool = True
    # Kong accepts 1-1000; larger pages mean fewer requests per poll (see docs/collectors.md).
    page_size: Annotated[int, Field(ge=1, le=1000)] = 1000

    @field_validator("admin_url")
    @classmethod
    def _no_userinfo(cls, value: HttpUrl) -> HttpUrl:
        # Credentials in URLs end up in logs and error messages; tokens have their own field.
        if value.username or value.password:
            raise ValueError("must not contain credentials; use token or token_file")
        return value

    @field_validator("token_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> KongConfig:
        if self.token is not None and self.token_file is not None:
            raise ValueError("set token or token_file, not both")
        return self

    def resolved_token(self) -> str | None:
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file is not None:
            return self.token_file.read_text(encoding="utf-8").strip() or None
        return None


class KongCollector:
    """Polls one Kong node's Admin API into events and metric families."""

    type = "kong"

    def __init__(self, config: KongConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        token = config.resolved_token()
        self._client = ApiClient(
            base_url=str(config.admin_url),
            headers={"Kong-Admin-Token": token} if token else None,
            timeout=config.timeout,
            verify_tls=config.verify_tls,
            clock=clock,
        )
        # Plugins as of the last *complete* poll; None until the first one (the baseline).
        self._plugins: dict[str, PluginRecord] | None = None
        self._changes: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def interval(self) -> float:
        return self._config.interval

    @property
    def client(self) -> ApiClient:
        return self._client

    async def poll(self) -> Snapshot:
        root = (await self._client.get("/")).data
        if not isinstance(root, Mapping):
            raise CollectorError("Kong Admin API root is not a JSON object", reason="malformed")
        node, listeners = _node(root)
        status = (await self._client.get("status")).data
        database = status.get("database") if isinstance(status, Mapping) else None
        reachable = database.get("reachable") if isinstance(database, Mapping) else None
        metrics: list[Metric] = [
            *node_metrics(self.name, node, listeners),
            *status_metrics(self.name, reachable if isinstance(reachable, bool) else None),
        ]
        now = self._clock()
        events = [
            self._discovery(key, listener, node, now)
            for key, listener in listeners
            if listener.network_reachable
        ]
        if self._config.entities:
            entities = await fetch_entities(self._client, page_size=self._config.page_size)
            names = Names(entities)
            plugins, routes = plugin_records(entities, names), route_records(entities, names)
            events += [self._route_event(r, now) for r in routes]
            events += [self._plugin_event("plugin_inventory", p, now) for p in plugins.values()]
            if self._plugins is not None:
                for change in diff_plugins(self._plugins, plugins):
                    self._changes[change.action] += 1
                    events.append(
                        self._plugin_event(
                            "plugin_configuration_change",
                            change.record,
                            now,
                            action=change.action,
                            changed=list(change.changed),
                        )
                    )
            # Committed only now: a poll that raised above leaves the baseline untouched.
            self._plugins = plugins
            metrics += entity_metrics(self.name, entities, plugins.values(), routes)
            metrics += change_metrics(self.name, self._changes)
        metrics += api_metrics(self.name, self.type, self._client)
        return Snapshot(events=events, taken_at=now, metrics=metrics)

    def _event(self, event_type: str, data: Mapping[str, Any], now: float, **kw: Any) -> Event:
        return Event(
            source="kong_monitor",
            event_type=event_type,
            platform="kong",
            asset=self._config.name,
            environment=self._config.environment,
            observed_at=now,
            data=data,
            **kw,
        )

    def _discovery(
        self, key: str, listener: Listener, node: Mapping[str, str], now: float
    ) -> Event:
        data = {
            "listener": key,
            "address": listener.address,
            "port": listener.port,
            "protocol": listener.protocol,
            "endpoint": f"{key} {listener.host_port}",
            "flags": list(listener.flags),
            "node_id": node["node_id"],
            "hostname": node["hostname"],
            "kong_version": node["version"],
        }
        return self._event("service_discovery", data, now)

    def _route_event(self, route: RouteRecord, now: float) -> Event:
        data = {
            "route_id": route.id,
            "route_name": route.name,
            "service_name": route.service_name,
            "auth_plugins": len(route.auth_plugins),
            "auth_plugin_types": list(route.auth_plugins),
            "public": route.public,
            "paths": list(route.paths),
            "hosts": list(route.hosts),
            "protocols": list(route.protocols),
        }
        return self._event("route_inventory", data, now)

    def _plugin_event(
        self, event_type: str, plugin: PluginRecord, now: float, **extra: Any
    ) -> Event:
        data = {
            **extra,
            "plugin_id": plugin.id,
            "plugin_type": plugin.type,
            "enabled": plugin.enabled,
            "scope": plugin.scope,
            "service_name": plugin.service_name,
            "route_name": plugin.route_name,
            "consumer_name": plugin.consumer_name,
        }
        kind = "change" if event_type == "plugin_configuration_change" else "state"
        return self._event(event_type, data, now, kind=kind)

    async def close(self) -> None:
        await self._client.close()


def _node(root: Mapping[str, Any]) -> tuple[dict[str, str], list[tuple[str, Listener]]]:
    """Node identity and every parsed listener from the Admin API root document."""
    configuration = root_field(root, "configuration", "")
    node = {key: str(root_field(root, key, "")) for key in _REQUIRED_ROOT_FIELDS}
    listeners: list[tuple[str, Listener]] = []
    for key in LISTENER_KEYS:
        for spec in listener_specs(configuration, key):
            try:
                parsed = parse_listener(spec)
            except ValueError as exc:
                raise CollectorError(f"configuration.{key}: {exc}", reason="malformed") from None
            if parsed is not None:
                listeners.append((key, parsed))
    return node, listeners
