"""The Kong collector against a real fake-Kong server: discovery events and every error path."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.collectors.base import CollectorError
from exporter.collectors.kong import KongCollector
from tests.exporter.conftest import TOKEN, FakeKongServer, kong_config


def admin_endpoints(events: Any) -> list[tuple[str, str, int]]:
    return sorted(
        (e.data["endpoint"], e.data["protocol"], e.data["port"])
        for e in events
        if e.data.get("listener") == "admin_listen"
    )


async def test_insecure_admin_listener_is_discovered(kong_collector: KongCollector) -> None:
    snapshot = await kong_collector.poll()
    admin = [e for e in snapshot.events if e.data.get("listener") == "admin_listen"]
    assert len(admin) == 1
    event = admin[0]
    assert (event.source, event.event_type, event.kind) == (
        "kong_monitor",
        "service_discovery",
        "state",
    )
    assert (event.platform, event.asset, event.environment) == ("kong", "edge", "production")
    assert event.data == {
        "listener": "admin_listen",
        "address": "0.0.0.0",
        "port": 8001,
        "protocol": "http",
        "endpoint": "admin_listen 0.0.0.0:8001",
        "flags": ["reuseport", "backlog=16384"],
        "node_id": "7b1c8e1e-4c3f-4a52-9d5e-2f8a1b6c0d11",
        "hostname": "kong-fake",
        "kong_version": "3.6.1",
    }


async def test_secure_node_reports_only_the_tls_admin_listener(
    fake_kong: FakeKongServer, kong_collector: KongCollector
) -> None:
    await fake_kong.use("secure")
    snapshot = await kong_collector.poll()
    assert admin_endpoints(snapshot.events) == [("admin_listen 10.0.0.10:8444", "https", 8444)]


async def test_loopback_only_listeners_produce_no_events(
    fake_kong: FakeKongServer, kong_collector: KongCollector
) -> None:
    await fake_kong.control(
        "PUT",
        "config",
        {
            "admin_listen": ["127.0.0.1:8001", "[::1]:8444 http2 ssl", "localhost:8002"],
            "proxy_listen": ["off"],
            "status_listen": [],
        },
    )
    snapshot = await kong_collector.poll()
    assert [e for e in snapshot.events if e.event_type == "service_discovery"] == []
    listeners = {
        tuple(sorted(s.labels.items())): s.value
        for m in snapshot.metrics
        if m.name == "secmon_kong_listeners"
        for s in m.samples
    }
    loopback_admin = (
        ("collector", "edge"),
        ("exposure", "loopback"),
        ("listener", "admin_listen"),
        ("protocol", "http"),
    )
    assert listeners[loopback_admin] == 2


async def test_node_info_metric(kong_collector: KongCollector) -> None:
    snapshot = await kong_collector.poll()
    info = next(m for m in snapshot.metrics if m.name == "secmon_kong_node")
    assert [s.labels for s in info.samples] == [
        {
            "collector": "edge",
            "node_id": "7b1c8e1e-4c3f-4a52-9d5e-2f8a1b6c0d11",
            "hostname": "kong-fake",
            "version": "3.6.1",
        }
    ]


async def test_token_is_sent_as_kong_admin_token(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("PUT", "config", {"token": TOKEN})
    collector = KongCollector(kong_config(fake_kong.url, token=TOKEN))
    try:
        await collector.poll()
    finally:
        await collector.close()
    seen = fake_kong.fake.requests
    assert [r["path"] for r in seen][:2] == ["/", "/status"]
    assert all(r["token_sent"] and r["token_ok"] for r in seen)


async def test_token_file(fake_kong: FakeKongServer, tmp_path: Any) -> None:
    await fake_kong.control("PUT", "config", {"token": TOKEN})
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    collector = KongCollector(kong_config(fake_kong.url, token_file=str(token_file)))
    try:
        await collector.poll()
    finally:
        await collector.close()
    assert fake_kong.fake.requests[-1]["token_ok"] is True


@pytest.mark.parametrize(
    ("failure", "reason", "in_message"),
    [
        ({"status": 500}, "http_500", "HTTP 500"),
        ({"status": 503}, "http_503", "HTTP 503"),
        ({"mode": "malformed"}, "malformed", "invalid JSON"),
        ({"mode": "drop_field", "field": "configuration"}, "malformed", "'configuration'"),
        ({"mode": "drop_field", "field": "node_id"}, "malformed", "'node_id'"),
        ({"mode": "slow", "delay": 1.5}, "timeout", "timed out"),
    ],
)
async def test_error_answers_raise_collector_errors(
    fake_kong: FakeKongServer, failure: dict[str, Any], reason: str, in_message: str
) -> None:
    await fake_kong.fail(**failure)
    collector = KongCollector(kong_config(fake_kong.url, token=TOKEN, timeout=0.5))
    try:
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
    finally:
        await collector.close()
    assert caught.value.reason == reason
    assert in_message in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_wrong_token_is_http_401(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("PUT", "config", {"token": "the-right-one"})
    collector = KongCollector(kong_config(fake_kong.url, token=TOKEN))
    try:
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
    finally:
        await collector.close()
    assert caught.value.reason == "http_401"
    assert TOKEN not in str(caught.value)


async def test_rate_limit_carries_retry_after(fake_kong: FakeKongServer) -> None:
    await fake_kong.fail(status=429, retry_after=7)
    collector = KongCollector(kong_config(fake_kong.url))
    try:
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
    finally:
        await collector.close()
    assert caught.value.reason == "http_429"
    assert getattr(caught.value, "retry_after", None) == 7.0


async def test_missing_admin_listen_is_malformed(
    fake_kong: FakeKongServer, kong_collector: KongCollector
) -> None:
    await fake_kong.fail(mode="drop_field", field="configuration.admin_listen")
    with pytest.raises(CollectorError, match=r"configuration\.'admin_listen'") as caught:
        await kong_collector.poll()
    assert caught.value.reason == "malformed"


async def test_connection_refused(unused_tcp_port: int) -> None:
    collector = KongCollector(kong_config(f"http://127.0.0.1:{unused_tcp_port}"))
    try:
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
    finally:
        await collector.close()
    assert caught.value.reason == "connection"
