"""``POST /api/v1/alertmanager`` over real HTTP, against both store backends.

Each status code is part of the contract with Alertmanager: 401/400/413 are never retried,
503 is, and 200 promises the alerts are stored.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from bridge.keys import METRICS, PIPELINE
from bridge.pipeline import Batch, Pipeline
from tests.bridge.helpers import (
    API_TOKEN,
    WEBHOOK_TOKEN,
    BridgeClient,
    bearer,
    bridge_config,
    drain,
    example,
    get_alerts,
    make_alert,
    make_payload,
    post_payload,
    query,
)

URL = "/api/v1/alertmanager"


def metric(client: BridgeClient, name: str, **labels: str) -> float:
    value = client.app[METRICS].registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong-token"),
        bearer(API_TOKEN),  # the API token is not a webhook credential
        {"Authorization": WEBHOOK_TOKEN},  # no scheme
        basic("alertmanager", WEBHOOK_TOKEN),  # basic auth is not configured here
    ],
    ids=["missing", "wrong", "api-token", "no-scheme", "basic-not-configured"],
)
async def test_missing_or_wrong_credentials_get_401(
    client: BridgeClient, headers: dict[str, str]
) -> None:
    body = json.dumps(example("kong-admin-api-firing"))
    async with client.post(URL, data=body, headers=headers) as response:
        assert response.status == 401
        assert response.headers.getall("WWW-Authenticate") == ['Bearer realm="secmon-bridge"']
    assert await get_alerts(client) == []
    assert metric(client, "secmon_bridge_webhook_requests_total", code="401") == 1


@pytest.fixture
async def basic_client(tmp_path: Path) -> AsyncIterator[BridgeClient]:
    password_file = tmp_path / "webhook-password"
    password_file.write_text("s3cret-basic\n")
    config = bridge_config(
        f"sqlite:///{tmp_path / 'bridge.db'}",
        webhook_basic_auth={"username": "alertmanager", "password_file": str(password_file)},
    )
    async with TestClient(TestServer(create_app(config))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (basic("alertmanager", "s3cret-basic"), 200),
        (bearer(WEBHOOK_TOKEN), 200),  # both methods configured: either works
        (basic("alertmanager", "wrong"), 401),
        (basic("someone-else", "s3cret-basic"), 401),
        ({"Authorization": "Basic not-base64!"}, 401),
        ({}, 401),
    ],
    ids=["basic", "bearer", "wrong-password", "wrong-username", "garbage", "missing"],
)
async def test_basic_auth(basic_client: BridgeClient, headers: dict[str, str], status: int) -> None:
    body = json.dumps(example("kong-admin-api-firing"))
    async with basic_client.post(URL, data=body, headers=headers) as response:
        assert response.status == status
        if status == 401:
            assert sorted(response.headers.getall("WWW-Authenticate")) == [
                'Basic realm="secmon-bridge", charset="UTF-8"',
                'Bearer realm="secmon-bridge"',
            ]


async def test_body_that_is_not_json_gets_400(client: BridgeClient) -> None:
    async with client.post(URL, data=b"{not json", headers=bearer(WEBHOOK_TOKEN)) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"].startswith("body is not JSON")
    assert metric(client, "secmon_bridge_webhook_requests_total", code="400") == 1


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts.0.startsAt"),
        (lambda p: p["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda p: p["alerts"][0]["labels"].update(severity=3), "alerts.0.labels.severity"),
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.pop("groupKey"), "groupKey"),
        (lambda p: p.update(truncatedAlerts=-1), "truncatedAlerts"),
        (lambda p: p.update(alerts={}), "alerts"),
        # No store can keep a NUL character (PostgreSQL's text and jsonb refuse it).
        (lambda p: p["alerts"][0]["labels"].update(team="a\u0000b"), "alerts.0.labels.team"),
        (
            lambda p: p["alerts"][0]["annotations"].update({"n\u0000": "x"}),
            "alerts.0.annotations.(name)",
        ),
        (lambda p: p.update(groupKey="{}:\u0000"), "groupKey"),
    ],
)
async def test_schema_violation_gets_400_naming_the_field(
    client: BridgeClient, mutate: Any, field: str
) -> None:
    payload = example("kong-admin-api-firing")
    mutate(payload)
    status, body = await post_payload(client, payload)

    assert status == 400
    assert body["error"].startswith(f"invalid Alertmanager v4 payload: {field}: ")
    assert any(line.startswith(f"{field}: ") for line in body["details"])
    assert await get_alerts(client) == []


async def test_top_level_array_gets_400(client: BridgeClient) -> None:
    async with client.post(URL, data=b"[]", headers=bearer(WEBHOOK_TOKEN)) as response:
        assert response.status == 400
        assert "invalid Alertmanager v4 payload" in (await response.json())["error"]


async def test_body_over_the_limit_gets_413_by_length_and_by_bytes_read(tmp_path: Path) -> None:
    config = bridge_config(f"sqlite:///{tmp_path / 'bridge.db'}", max_body_bytes=1024)
    payload = make_payload(*(make_alert(f"fp{i}") for i in range(10)))
    body = json.dumps(payload).encode()
    assert len(body) > 1024

    async def chunked() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold on the bytes actually read.
        for start in range(0, len(body), 256):
            yield body[start : start + 256]

    async with TestClient(TestServer(create_app(config))) as test_client:
        async with test_client.post(URL, data=body, headers=bearer(WEBHOOK_TOKEN)) as response:
            assert response.status == 413
            assert "1024" in (await response.json())["error"]
        async with test_client.post(URL, data=chunked(), headers=bearer(WEBHOOK_TOKEN)) as response:
            assert response.status == 413
        assert metric(test_client, "secmon_bridge_webhook_requests_total", code="413") == 2
        assert await get_alerts(test_client) == []


async def test_unknown_fields_are_accepted_and_kept(
    client: BridgeClient, database_url: str
) -> None:
    payload = example("aws-security-group-group-newer-alertmanager")
    payload["alerts"][0]["someFutureField"] = {"nested": True}
    status, body = await post_payload(client, payload)

    assert (status, body["alerts"]) == (200, 3)
    [(raw,)] = await query(database_url, "SELECT payload FROM webhook_payloads")
    kept = json.loads(raw)
    assert kept["routeLabels"] == {"team": "security"}
    assert kept["alerts"][0]["someFutureField"] == {"nested": True}


async def test_same_payload_twice_is_stored_once(client: BridgeClient) -> None:
    payload = example("aws-security-group-group-newer-alertmanager")
    assert await post_payload(client, payload) == (
        200,
        {"status": "stored", "alerts": 3, "duplicates": 0},
    )
    assert await post_payload(client, payload) == (
        200,
        {"status": "stored", "alerts": 3, "duplicates": 3},
    )

    alerts = await get_alerts(client)
    assert len(alerts) == 3
    assert {a["occurrence_count"] for a in alerts} == {1}
    assert metric(client, "secmon_bridge_alerts_received_total", status="firing") == 4
    assert metric(client, "secmon_bridge_alerts_received_total", status="resolved") == 2
    assert metric(client, "secmon_bridge_alerts_duplicate_total") == 3
    assert metric(client, "secmon_bridge_webhook_requests_total", code="200") == 2


async def test_firing_then_resolved_resolves_the_same_alert(client: BridgeClient) -> None:
    await post_payload(client, example("kong-admin-api-firing"))
    [firing] = await get_alerts(client)
    await post_payload(client, example("kong-admin-api-resolved"))
    [resolved] = await get_alerts(client)

    assert (firing["status"], firing["am_status"]) == ("open", "firing")
    assert firing["resolved_at"] is None
    assert firing["ends_at"] is None
    assert resolved["id"] == firing["id"]
    assert (resolved["status"], resolved["am_status"]) == ("resolved", "resolved")
    assert resolved["resolved_by"] == "alertmanager"
    assert resolved["resolved_at"] == "2026-11-25T10:04:46.244000Z"
    assert resolved["starts_at"] == "2026-11-25T09:58:31.244000Z"


async def test_insecure_no_auth_accepts_anyone(tmp_path: Path) -> None:
    config = bridge_config(
        f"sqlite:///{tmp_path / 'bridge.db'}",
        webhook_token=None,
        api_token=None,
        insecure_no_auth=True,
    )
    async with TestClient(TestServer(create_app(config))) as test_client:
        body = json.dumps(example("kong-admin-api-firing"))
        async with test_client.post(URL, data=body) as response:
            assert response.status == 200
        await drain(test_client)
        async with test_client.get("/api/v1/alerts") as response:
            assert response.status == 200
            assert len((await response.json())["alerts"]) == 1


async def test_health_ready_and_metrics_endpoints(client: BridgeClient) -> None:
    async with client.get("/-/healthy") as response:
        assert response.status == 200
    async with client.get("/-/ready") as response:
        assert response.status == 200
    async with client.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    assert "secmon_bridge_store_up 1.0" in text
    assert 'secmon_bridge_webhook_requests_total{code="503"} 0.0' in text
    assert "secmon_bridge_webhook_duration_seconds_bucket" in text


async def test_logs_one_line_per_payload_and_announce_changes_without_secrets(
    client: BridgeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await post_payload(client, example("kong-admin-api-firing"))
    await post_payload(client, example("kong-admin-api-firing"))
    await post_payload(client, example("kong-admin-api-resolved"), token="guess-" + WEBHOOK_TOKEN)
    await post_payload(client, example("kong-admin-api-resolved"))

    received = [r.getMessage() for r in caplog.records if r.name == "bridge.receiver"]
    assert len(received) == 3
    assert received[0].startswith('received group {}:{alertname="KongHttpAdminApi"')
    assert "1 alert(s), 1 new, 0 duplicate" in received[0]
    assert "0 new, 1 duplicate" in received[1]
    # One INFO line per delivery that changed something; a DEBUG line per alert.
    announced = [
        r.getMessage()
        for r in caplog.records
        if r.name == "bridge.alerts" and r.levelno == logging.INFO
    ]
    assert len(announced) == 2
    assert announced[0].startswith('alerts from group {}:{alertname="KongHttpAdminApi"')
    assert "firing id=1 rule_id=kong_http_admin_api severity=critical asset=edge" in announced[0]
    assert "0 firing, 1 resolved: resolved id=1" in announced[1]
    per_alert = [r.getMessage() for r in caplog.records
                 if r.name == "bridge.alerts" and r.levelno == logging.DEBUG]  # fmt: skip
    assert [m.split(" id=")[0] for m in per_alert] == ["alert firing", "alert resolved"]
    assert WEBHOOK_TOKEN not in caplog.text
    assert API_TOKEN not in caplog.text


class Exploding:
    """A pipeline stage that fails, as a buggy classifier would."""

    name = "exploding"

    async def process(self, batch: Batch) -> Batch:
        raise RuntimeError("classifier bug")


async def test_a_failing_stage_after_persistence_still_acknowledges(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    app = create_app(bridge_config(database_url))
    app[PIPELINE] = Pipeline(stages=[Exploding(), *app[PIPELINE].stages])
    async with TestClient(TestServer(app)) as test_client:
        status, _ = await post_payload(test_client, example("kong-admin-api-firing"))
        assert status == 200  # stored: a 5xx would only bring back duplicates
        # The receipt waits for the recovery sweep; the API shows the alert once processed.
        assert await query(database_url, "SELECT count(*) FROM pending_receipts") == [(1,)]
        assert await query(database_url, "SELECT count(*) FROM alert_receipts") == [(1,)]
        assert await get_alerts(test_client) == []
        errors = metric(test_client, "secmon_bridge_pipeline_errors_total", stage="exploding")
        assert errors == 1
