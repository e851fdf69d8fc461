"""``GET /api/v1/alerts``: authentication, filters, pagination and the JSON shape."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.api import models
from tests.bridge.helpers import (
    API_TOKEN,
    WEBHOOK_TOKEN,
    BridgeClient,
    bearer,
    example,
    get_alerts,
    make_alert,
    make_payload,
    post_payload,
)

URL = "/api/v1/alerts"
SHAPE_KEYS = (
    "id", "fingerprint", "rule_id", "alertname", "title", "severity", "category", "status",
    "am_status", "base_severity", "asset_id", "environment", "labels", "annotations",
    "generator_url", "starts_at", "ends_at", "occurrence_count", "created_at",
    "acknowledged_at", "resolved_at",
)  # fmt: skip


async def seed(client: BridgeClient) -> None:
    status, _ = await post_payload(
        client,
        make_payload(
            make_alert("a", severity="critical", rule_id="r1"),
            make_alert("b", severity="high", rule_id="r1"),
            make_alert("c", severity="high", rule_id="r2"),
            make_alert("d", severity="low", rule_id="r2"),
            make_alert("e", severity="high", rule_id="r2", status="resolved"),
        ),
    )
    assert status == 200


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), bearer(WEBHOOK_TOKEN), {"Authorization": f"Basic {API_TOKEN}"}],
    ids=["missing", "wrong", "webhook-token", "basic"],
)
async def test_requires_the_api_token(client: BridgeClient, headers: dict[str, str]) -> None:
    async with client.get(URL, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="secmon-bridge"'


async def test_alert_shape(client: BridgeClient) -> None:
    await post_payload(client, example("kong-admin-api-firing"))
    [alert] = await get_alerts(client)

    assert isinstance(alert["id"], int)
    models.Alert.model_validate(alert)
    assert {key: alert[key] for key in SHAPE_KEYS} == {
        "id": alert["id"],
        "fingerprint": "5c2f8e0b7a9d3146",
        "rule_id": "kong_http_admin_api",
        "alertname": "KongHttpAdminApi",
        "title": "Kong Admin API exposed over HTTP",
        "severity": "critical",
        "category": "configuration_security",
        "status": "open",
        "am_status": "firing",
        "base_severity": "critical",
        "asset_id": "edge",
        "environment": "production",
        "labels": example("kong-admin-api-firing")["alerts"][0]["labels"],
        "annotations": example("kong-admin-api-firing")["alerts"][0]["annotations"],
        "generator_url": example("kong-admin-api-firing")["alerts"][0]["generatorURL"],
        "starts_at": "2026-11-25T09:58:31.244000Z",
        "ends_at": None,
        "occurrence_count": 1,
        "created_at": alert["created_at"],
        "acknowledged_at": None,
        "resolved_at": None,
    }
    assert alert["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["e", "d", "c", "b", "a"]),
        ({"status": "open"}, ["d", "c", "b", "a"]),
        ({"status": "resolved"}, ["e"]),
        ({"severity": "high"}, ["e", "c", "b"]),
        ({"rule_id": "r1"}, ["b", "a"]),
        ({"rule_id": "r2", "severity": "high", "status": "open"}, ["c"]),
        ({"asset": "asset-c"}, ["c"]),
        ({"since": "2000-01-01T00:00:00Z", "rule_id": "r1"}, ["b", "a"]),
        ({"since": "2999-01-01T00:00:00+02:00"}, []),
        ({"rule_id": "nope"}, []),
    ],
)
async def test_filters(client: BridgeClient, params: dict[str, str], expected: list[str]) -> None:
    await seed(client)
    assert [a["fingerprint"] for a in await get_alerts(client, **params)] == expected


async def test_cursor_pagination_walks_every_alert_once(client: BridgeClient) -> None:
    await seed(client)
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2", "severity": "high"}
    pages = 0
    while True:
        async with client.get(URL, params=params, headers=bearer(API_TOKEN)) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
        pages += 1
        seen += [a["fingerprint"] for a in body["alerts"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert (seen, pages) == (["e", "c", "b"], 2)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "firing"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-25T09:00:00"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
        ({"severty": "high"}, "severty"),
    ],
)
async def test_bad_query_gets_400_naming_the_parameter(
    client: BridgeClient, params: dict[str, str], named: str
) -> None:
    async with client.get(URL, params=params, headers=bearer(API_TOKEN)) as response:
        assert response.status == 400
        assert named in (await response.json())["error"]
