"""Kong entities against the fake over real HTTP: pagination, plugin changes, route auth, errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest

from exporter.collectors.base import CollectorError
from exporter.collectors.kong import KongCollector
from exporter.events import Event
from exporter.runtime import Runtime, Scheduled
from tests.exporter.conftest import TOKEN, FakeKongServer, kong_config

CORS = "c0ffee00-0000-4000-8000-000000000003"
JWT = "c0ffee00-0000-4000-8000-000000000001"


def of_type(events: Sequence[Event], event_type: str) -> list[Event]:
    return [e for e in events if e.event_type == event_type]


def changes(events: Sequence[Event]) -> list[tuple[str, str, str]]:
    return sorted(
        (e.data["action"], e.data["plugin_type"], e.data["service_name"])
        for e in of_type(events, "plugin_configuration_change")
    )


async def collector_for(server: FakeKongServer, **overrides: Any) -> KongCollector:
    return KongCollector(kong_config(server.url, **overrides))


async def test_pagination_walks_every_page_with_size(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("POST", "generate", {"services": 7, "plugins_per_service": 3})
    collector = await collector_for(fake_kong, page_size=5)
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
    assert len(of_type(snapshot.events, "plugin_inventory")) == 21
    assert len(of_type(snapshot.events, "route_inventory")) == 7
    plugin_pages = [r["query"] for r in fake_kong.fake.requests if r["path"] == "/plugins"]
    assert len(plugin_pages) == 5  # ceil(21 / 5)
    assert plugin_pages[0] == "size=5"
    assert all("offset=" in q and "size=5" in q for q in plugin_pages[1:])


async def test_first_poll_is_a_baseline_then_every_change_kind(
    fake_kong: FakeKongServer, kong_collector: KongCollector
) -> None:
    first = await kong_collector.poll()
    assert changes(first.events) == []
    assert changes((await kong_collector.poll()).events) == []  # nothing changed

    await fake_kong.control("PATCH", f"entities/plugins/{JWT}", {"config": {"key_claim_name": "k"}})
    await fake_kong.control("PATCH", f"entities/plugins/{CORS}", {"enabled": True})
    await fake_kong.control(
        "POST", "entities/plugins", {"name": "acl", "config": {"allow": ["admins"]}}
    )
    assert changes((await kong_collector.poll()).events) == [
        ("created", "acl", "(global)"),
        ("enabled", "cors", "web"),
        ("updated", "jwt", "billing"),
    ]
    await fake_kong.control("PATCH", f"entities/plugins/{CORS}", {"enabled": False})
    await fake_kong.control("DELETE", f"entities/plugins/{JWT}")
    third = await kong_collector.poll()
    assert changes(third.events) == [("deleted", "jwt", "billing"), ("disabled", "cors", "web")]
    deleted = next(e for e in third.events if e.data.get("action") == "deleted")
    assert (deleted.kind, deleted.source, deleted.data["plugin_id"]) == (
        "change",
        "kong_monitor",
        JWT,
    )
    updated_changed = [
        e.data["changed"] for e in of_type(third.events, "plugin_configuration_change")
    ]
    assert ["enabled"] in updated_changed


async def test_route_auth_on_route_service_or_globally(
    fake_kong: FakeKongServer, kong_collector: KongCollector
) -> None:
    def routes(events: Sequence[Event]) -> dict[str, tuple[int, bool]]:
        return {
            e.data["route_name"]: (e.data["auth_plugins"], e.data["public"])
            for e in of_type(events, "route_inventory")
        }

    snapshot = await kong_collector.poll()
    assert routes(snapshot.events) == {
        "billing-api": (1, True),  # jwt on its service
        "web": (0, True),
        "health": (0, False),  # tagged internal
    }
    web_route = "9d3c0000-0000-4000-8000-000000000002"
    await fake_kong.control(
        "POST", "entities/plugins", {"name": "key-auth", "route": {"id": web_route}}
    )
    assert routes((await kong_collector.poll()).events)["web"] == (1, True)
    # A disabled or consumer-scoped auth plugin protects nothing; a global one protects all.
    await fake_kong.control("POST", "entities/plugins", {"name": "basic-auth", "enabled": False})
    await fake_kong.control(
        "POST", "entities/plugins", {"name": "hmac-auth", "consumer": {"id": "x"}}
    )
    assert routes((await kong_collector.poll()).events)["health"] == (0, False)
    await fake_kong.control("POST", "entities/plugins", {"name": "openid-connect"})
    assert routes((await kong_collector.poll()).events)["health"] == (1, False)


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ({"mode": "truncate", "path": "/plugins"}, "malformed"),
        ({"mode": "malformed", "path": "/routes"}, "malformed"),
        ({"mode": "drop_field", "field": "data", "path": "/plugins"}, "malformed"),
        ({"status": 500, "path": "/plugins"}, "http_500"),
        ({"status": 429, "retry_after": 9, "path": "/consumers"}, "http_429"),
        ({"mode": "slow", "delay": 1.5, "path": "/services"}, "timeout"),
    ],
)
async def test_a_bad_page_fails_the_poll_and_reports_no_deletions(
    fake_kong: FakeKongServer, failure: dict[str, Any], reason: str
) -> None:
    await fake_kong.control("POST", "generate", {"services": 4, "plugins_per_service": 3})
    collector = await collector_for(fake_kong, page_size=5, timeout=0.5, token=TOKEN)
    try:
        await collector.poll()
        if failure.get("path") == "/plugins":
            await fake_kong.control(
                "POST", "fail", {"mode": "slow", "delay": 0, "path": "/plugins"}
            )
        await fake_kong.fail(**failure)
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
        assert caught.value.reason == reason
        assert TOKEN not in str(caught.value)
        # The failed poll did not move the baseline: nothing is "deleted" afterwards.
        assert changes((await collector.poll()).events) == []
    finally:
        await collector.close()


async def test_runtime_keeps_last_good_snapshot_and_logs_no_token(
    fake_kong: FakeKongServer, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client import CollectorRegistry

    await fake_kong.control("PUT", "config", {"token": TOKEN})
    collector = await collector_for(fake_kong, token=TOKEN)
    runtime = Runtime([Scheduled(collector, "kong", timeout=2)], registry=CollectorRegistry())
    state = runtime.states[0]
    caplog.set_level(logging.DEBUG)
    try:
        assert await runtime.poll_once(state)
        good = state.snapshot
        await fake_kong.fail(mode="truncate", path="/plugins")
        assert not await runtime.poll_once(state)
        assert state.snapshot is good
        assert state.stale
        await fake_kong.control("PUT", "config", {"token": "rotated"})
        assert not await runtime.poll_once(state)
    finally:
        await runtime.stop()
    assert "poll failed (malformed)" in caplog.text
    assert "poll failed (http_401)" in caplog.text
    assert TOKEN not in caplog.text


async def test_api_request_metrics(kong_collector: KongCollector) -> None:
    snapshot = await kong_collector.poll()
    family = next(m for m in snapshot.metrics if m.name == "secmon_collector_api_requests")
    assert [(s.labels["status"], s.value) for s in family.samples] == [("200", 6.0)]
    assert not any(m.name == "secmon_collector_rate_limit_remaining" for m in snapshot.metrics)


async def test_entities_off_is_discovery_only(fake_kong: FakeKongServer) -> None:
    collector = await collector_for(fake_kong, entities=False)
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
    assert {e.event_type for e in snapshot.events} == {"service_discovery"}
    assert [r["path"] for r in fake_kong.fake.requests] == ["/", "/status"]
