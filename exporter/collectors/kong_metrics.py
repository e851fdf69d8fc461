"""Metric families the Kong collector puts in its snapshot (rendered as-is on every scrape).

Every family carries a ``collector`` label, so several Kong targets render side by side (the
runtime merges same-named families from different snapshots into one)::

    secmon_kong_node_info{collector="edge",hostname="kong-1",node_id="3f1c…",version="3.6.1"} 1.0
    secmon_kong_listeners{collector="edge",exposure="network",listener="admin_listen",\
protocol="http"} 1.0
    secmon_kong_database_reachable{collector="edge"} 1.0
    secmon_kong_entities{collector="edge",kind="plugins"} 3.0
    secmon_kong_plugins{collector="edge",enabled="false",plugin="cors",scope="service"} 1.0
    secmon_kong_routes{authenticated="false",collector="edge",exposure="public"} 1.0
    secmon_kong_plugin_changes_total{action="disabled",collector="edge"} 1.0
    secmon_collector_api_requests_total{collector="edge",status="200",type="kong"} 14.0
    secmon_collector_rate_limit_remaining{collector="edge",type="kong"} 57.0

Plugin names are Kong's bounded plugin catalogue, so they are safe labels; route and service
names are not labels here (they travel in events, where rules pick what they need).
The rate-limit gauge appears only when the API reports ``X-RateLimit-Remaining`` (a Kong
Admin API behind a rate-limiting proxy); plain Kong sends none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from exporter.collectors.httpapi import ApiClient
from exporter.collectors.kong_entities import KongEntities, PluginRecord, RouteRecord
from exporter.collectors.kong_listeners import Listener

CHANGE_ACTIONS = ("created", "updated", "enabled", "disabled", "deleted")


def node_metrics(
    name: str, node: Mapping[str, str], listeners: Sequence[tuple[str, Listener]]
) -> list[Metric]:
    info = InfoMetricFamily(
        "secmon_kong_node", "Kong node identity, from the Admin API root.", labels=["collector"]
    )
    info.add_metric(
        [name],
        {"node_id": node["node_id"], "hostname": node["hostname"], "version": node["version"]},
    )
    counts = Counter(
        (key, lis.protocol, "network" if lis.network_reachable else "loopback")
        for key, lis in listeners
    )
    gauge = GaugeMetricFamily(
        "secmon_kong_listeners",
        "Kong listeners by kind, protocol and exposure.",
        labels=["collector", "listener", "protocol", "exposure"],
    )
    for (key, protocol, exposure), count in sorted(counts.items()):
        gauge.add_metric([name, key, protocol, exposure], count)
    return [info, gauge]


def status_metrics(name: str, reachable: bool | None) -> list[Metric]:
    if reachable is None:
        return []
    gauge = GaugeMetricFamily(
        "secmon_kong_database_reachable",
        "1 if Kong's /status reports its database reachable.",
        labels=["collector"],
    )
    gauge.add_metric([name], int(reachable))
    return [gauge]


def entity_metrics(
    name: str,
    entities: KongEntities,
    plugins: Iterable[PluginRecord],
    routes: Iterable[RouteRecord],
) -> list[Metric]:
    kinds = GaugeMetricFamily(
        "secmon_kong_entities", "Kong entities by kind.", labels=["collector", "kind"]
    )
    for kind, count in entities.counts().items():
        kinds.add_metric([name, kind], count)
    by_plugin = Counter((p.type, p.scope, "true" if p.enabled else "false") for p in plugins)
    plugin_family = GaugeMetricFamily(
        "secmon_kong_plugins",
        "Kong plugins by name, scope and enabled state.",
        labels=["collector", "plugin", "scope", "enabled"],
    )
    for (plugin, scope, enabled), count in sorted(by_plugin.items()):
        plugin_family.add_metric([name, plugin, scope, enabled], count)
    by_route = Counter(
        ("true" if r.auth_plugins else "false", "public" if r.public else "internal")
        for r in routes
    )
    route_family = GaugeMetricFamily(
        "secmon_kong_routes",
        "Kong routes by whether an authentication plugin applies, and exposure (from tags).",
        labels=["collector", "authenticated", "exposure"],
    )
    for (authenticated, exposure), count in sorted(by_route.items()):
        route_family.add_metric([name, authenticated, exposure], count)
    return [kinds, plugin_family, route_family]


def change_metrics(name: str, changes: Mapping[str, int]) -> list[Metric]:
    counter = CounterMetricFamily(
        "secmon_kong_plugin_changes",
        "Plugin changes seen between polls, since the exporter started.",
        labels=["collector", "action"],
    )
    for action in CHANGE_ACTIONS:
        counter.add_metric([name, action], changes.get(action, 0))
    return [counter]


def api_metrics(name: str, type_: str, client: ApiClient) -> list[Metric]:
    """Request counts by status and the last reported rate-limit budget of one API client."""
    requests = CounterMetricFamily(
        "secmon_collector_api_requests",
        "Platform API requests by HTTP status (304 included), since the exporter started.",
        labels=["collector", "type", "status"],
    )
    for status, count in sorted(client.stats.by_status.items()):
        requests.add_metric([name, type_, str(status)], count)
    families: list[Metric] = [requests]
    if client.rate_limit.remaining is not None:
        remaining = GaugeMetricFamily(
            "secmon_collector_rate_limit_remaining",
            "Requests left in the platform's current rate-limit window, as last reported.",
            labels=["collector", "type"],
        )
        remaining.add_metric([name, type_], client.rate_limit.remaining)
        families.append(remaining)
    return families
