"""The expiry sweep, truncated payloads and the cached open-alerts gauge, on both stores."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.alertmanager import parse_payload, to_delivery
from bridge.app import create_app
from bridge.store import AlertStore, open_store
from bridge.store.base import AlertQuery, Delivery
from bridge.sweep import expire_once, prune_payloads, refresh_open_alerts
from tests.bridge.helpers import (
    BridgeClient,
    api_call,
    bridge_config,
    example,
    get_alerts,
    make_alert,
    make_payload,
    metric,
    post_payload,
    record_and_process,
)

T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def delivery(payload: dict[str, Any], received_at: datetime) -> Delivery:
    body = json.dumps(payload).encode()
    return to_delivery(parse_payload(body), body, received_at=received_at)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def test_sweep_resolves_alerts_that_stopped_arriving(client: BridgeClient) -> None:
    await post_payload(client, make_payload(make_alert("gone"), make_alert("acked")))
    ids = {a["fingerprint"]: a["id"] for a in await get_alerts(client)}
    alert_id = ids["gone"]
    now = datetime.now(UTC)

    # Within expire_after (2 x the 4 h repeat interval by default) nothing is touched.
    assert await expire_once(client.app, now=now + timedelta(hours=7)) == 0
    # Acknowledged alerts expire too: Alertmanager stopped sending them all the same.
    await api_call(client, "POST", f"/api/v1/alerts/{ids['acked']}/ack", {"by": "a"})
    assert await expire_once(client.app, now=now + timedelta(hours=9)) == 2

    status, body = await api_call(client, "GET", f"/api/v1/alerts/{alert_id}")
    assert status == 200
    assert (body["status"], body["am_status"], body["resolved_by"]) == (
        "resolved",
        "firing",
        "expiry",
    )
    assert "Alertmanager stopped sending it" in body["timeline"][-1]["message"]
    assert metric(client, "secmon_bridge_alerts_expired_total") == 2
    assert await expire_once(client.app, now=now + timedelta(hours=10)) == 0


async def test_a_truncated_group_is_never_expired_while_it_keeps_arriving(
    store: AlertStore,
) -> None:
    group = {"groupKey": '{}:{alertname="Big"}'}
    await record_and_process(store, delivery(make_payload(make_alert("b"), **group), T0))
    # Alertmanager now sends only "c" and says one alert was left out: "b" may still fire.
    truncated = make_payload(make_alert("c"), truncatedAlerts=1, **group)
    await record_and_process(store, delivery(truncated, T0 + timedelta(hours=7)))
    other = make_payload(make_alert("x"), groupKey='{}:{alertname="Other"}')
    await record_and_process(store, delivery(other, T0))

    expired = await store.expire_stale(cutoff=T0 + timedelta(hours=1), now=T0 + timedelta(hours=9))
    assert [a.fingerprint for a in expired] == ["x"]

    expired = await store.expire_stale(cutoff=T0 + timedelta(hours=8), now=T0 + timedelta(hours=16))
    assert sorted(a.fingerprint for a in expired) == ["b", "c"]
    assert {a.resolved_by for a in expired} == {"expiry"}
    page = await store.list_alerts(AlertQuery(status="open"))
    assert page.alerts == []


async def test_truncated_alerts_are_counted_logged_and_not_resolved(
    client: BridgeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    status, _ = await post_payload(client, example("aws-security-group-truncated"))

    assert status == 200
    assert metric(client, "secmon_bridge_alerts_truncated_total") == 2
    assert any("2 alert(s) not sent" in r.getMessage() for r in caplog.records)
    assert [a["status"] for a in await get_alerts(client)] == ["open"]


async def test_open_alerts_gauge_is_a_cached_count(client: BridgeClient) -> None:
    await post_payload(
        client,
        make_payload(
            make_alert("a", severity="critical"),
            make_alert("b", severity="low"),
            make_alert("c", severity="low"),
        ),
    )
    gauge = "secmon_bridge_open_alerts"
    await refresh_open_alerts(client.app)
    assert metric(client, gauge, severity="low") == 2
    assert metric(client, gauge, severity="critical") == 1

    low = [a for a in await get_alerts(client) if a["severity"] == "low"]
    await api_call(client, "POST", f"/api/v1/alerts/{low[0]['id']}/ack", {"by": "a"})
    assert metric(client, gauge, severity="low") == 2  # cached until the next refresh
    await refresh_open_alerts(client.app)
    assert metric(client, gauge, severity="low") == 1
    assert metric(client, gauge, severity="high") == 0


async def test_metrics_exposition_has_the_pipeline_kpis(client: BridgeClient) -> None:
    await post_payload(client, make_payload(make_alert("a")))
    async with client.get("/metrics") as response:
        text = await response.text()
    for line in (
        'secmon_bridge_alerts_received_total{status="firing"} 1.0',
        'secmon_bridge_alerts_deduplicated_total{kind="similar"} 0.0',
        "secmon_bridge_pipeline_duration_seconds_count 1.0",
        'secmon_bridge_open_alerts{severity="critical"}',
        'secmon_bridge_time_to_acknowledge_seconds_bucket{le="900.0",severity="critical"} 0.0',
        'secmon_bridge_time_to_resolve_seconds_count{severity="low"} 0.0',
    ):
        assert line in text, line


async def test_a_suppression_with_a_duration_ends_and_a_firing_alert_reopens(
    client: BridgeClient,
) -> None:
    await post_payload(client, make_payload(make_alert("still"), make_alert("done")))
    ids = {a["fingerprint"]: a["id"] for a in await get_alerts(client)}
    for alert_id in ids.values():
        url = f"/api/v1/alerts/{alert_id}/suppress"
        status, _ = await api_call(client, "POST", url, {"by": "a", "duration": "1h"})
        assert status == 200
    resolved = make_alert("done", status="resolved", ends_at="2026-11-25T09:30:00Z")
    await post_payload(client, make_payload(resolved))
    now = datetime.now(UTC)

    await expire_once(client.app, now=now + timedelta(minutes=30))
    assert {a["status"] for a in await get_alerts(client)} == {"suppressed"}
    await expire_once(client.app, now=now + timedelta(hours=2))

    by_fingerprint = {a["fingerprint"]: a for a in await get_alerts(client)}
    assert by_fingerprint["still"]["status"] == "open"
    assert by_fingerprint["still"]["suppressed_until"] is None
    assert by_fingerprint["done"]["status"] == "suppressed"  # Alertmanager resolved it meanwhile
    _, detail = await api_call(client, "GET", f"/api/v1/alerts/{ids['still']}")
    assert detail["timeline"][-1]["message"] == "suppression ended; open again"


async def test_retention_chore_empties_bodies_past_the_retention(
    client: BridgeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await post_payload(client, make_payload(make_alert("r1")))
    await post_payload(client, make_payload(make_alert("r2")))
    now = datetime.now(UTC)

    # The default keeps bodies for 30 days.
    assert await prune_payloads(client.app, now=now + timedelta(days=29)) == 0
    assert await prune_payloads(client.app, now=now + timedelta(days=31)) == 2
    assert metric(client, "secmon_bridge_payload_bodies_pruned_total") == 2
    assert any("retention: emptied 2 webhook bodies" in r.getMessage() for r in caplog.records)
    assert len(await get_alerts(client)) == 2  # the alerts themselves stay


async def test_retention_off_keeps_every_body(database_url: str) -> None:
    config = bridge_config(database_url, lifecycle={"payload_retention_days": None})
    async with TestClient(TestServer(create_app(config))) as client:
        await post_payload(client, make_payload(make_alert("kept")))
        later = datetime.now(UTC) + timedelta(days=3650)
        assert await prune_payloads(client.app, now=later) == 0
