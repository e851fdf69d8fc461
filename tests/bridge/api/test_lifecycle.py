"""The alert lifecycle through the API: detail, ack, resolve, suppress, 404/409, MTTA/MTTR."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.api import models
from tests.bridge.conftest import ClientFactory
from tests.bridge.helpers import (
    BridgeClient,
    api_call,
    example,
    get_alerts,
    make_alert,
    make_payload,
    metric,
    post_payload,
)


async def open_alert(client: BridgeClient) -> dict[str, Any]:
    status, _ = await post_payload(client, example("kong-admin-api-firing"))
    assert status == 200
    [alert] = await get_alerts(client)
    return alert


async def detail(client: BridgeClient, alert_id: int) -> dict[str, Any]:
    status, body = await api_call(client, "GET", f"/api/v1/alerts/{alert_id}")
    assert status == 200, body
    models.AlertDetail.model_validate(body)
    return body


async def test_detail_shows_classification_occurrences_and_timeline(
    client: BridgeClient,
) -> None:
    alert = await open_alert(client)
    body = await detail(client, alert["id"])

    assert (body["status"], body["am_status"]) == ("open", "firing")
    classification = body["classification"]
    assert classification["base_severity"] == "critical"
    assert classification["reasons"], "every classification keeps its reasons"
    assert {"factor", "effect", "detail"} <= set(classification["reasons"][0])
    assert "historical_frequency" in classification["enrichment"]
    assert [o["am_status"] for o in body["occurrences"]] == ["firing"]
    # Created classified: one entry says both. It says what classification changed; the
    # reasons live once, on the alert's classification.
    [created] = body["timeline"]
    assert created["kind"] == "created"
    assert f"classified {classification['severity']}" in created["message"]
    assert set(created["detail"]) == {"severity", "base_severity", "confidence"}
    assert created["detail"]["severity"] == classification["severity"]
    assert body["duplicates"] == []


@pytest.mark.parametrize("path", ["/api/v1/alerts/999999", "/api/v1/alerts/abc"])
async def test_unknown_alert_is_404(client: BridgeClient, path: str) -> None:
    status, body = await api_call(client, "GET", path)
    assert status == 404
    models.Error.model_validate(body)
    for action in ("ack", "resolve", "suppress"):
        status, _ = await api_call(client, "POST", f"{path}/{action}", {"by": "alice"})
        assert status == 404


async def test_ack_then_resolve_with_timestamps_timeline_and_metrics(
    client: BridgeClient,
) -> None:
    alert = await open_alert(client)
    url = f"/api/v1/alerts/{alert['id']}"

    status, acked = await api_call(client, "POST", f"{url}/ack", {"by": "alice", "comment": "mine"})
    assert status == 200
    models.Alert.model_validate(acked)
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "alice")
    assert acked["acknowledged_at"] is not None
    status, again = await api_call(client, "POST", f"{url}/ack", {"by": "bob"})
    assert status == 409
    assert "acknowledged" in again["error"]

    status, resolved = await api_call(client, "POST", f"{url}/resolve", {"by": "alice"})
    assert status == 200
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "alice")
    for action in ("ack", "resolve", "suppress"):
        status, _ = await api_call(client, "POST", f"{url}/{action}", {"by": "bob"})
        assert status == 409

    timeline = (await detail(client, alert["id"]))["timeline"]
    assert [t["kind"] for t in timeline][-2:] == ["acknowledged", "resolved"]
    assert timeline[-2]["actor"] == "alice"
    assert timeline[-2]["detail"] == {"comment": "mine"}
    severity = acked["severity"]
    count = "secmon_bridge_time_to_acknowledge_seconds_count"
    assert metric(client, count, severity=severity) == 1
    assert metric(client, "secmon_bridge_time_to_resolve_seconds_count", severity=severity) == 1


async def test_alertmanager_resolution_of_an_acknowledged_alert(client: BridgeClient) -> None:
    alert = await open_alert(client)
    await api_call(client, "POST", f"/api/v1/alerts/{alert['id']}/ack", {"by": "alice"})
    await post_payload(client, example("kong-admin-api-resolved"))

    body = await detail(client, alert["id"])
    assert (body["status"], body["am_status"], body["resolved_by"]) == (
        "resolved",
        "resolved",
        "alertmanager",
    )
    assert [o["am_status"] for o in body["occurrences"]] == ["firing", "resolved"]
    assert body["timeline"][-1]["message"] == "resolved by Alertmanager"


async def test_suppress_with_duration_survives_alertmanager_resolution(
    client: BridgeClient,
) -> None:
    alert = await open_alert(client)
    url = f"/api/v1/alerts/{alert['id']}/suppress"
    status, suppressed = await api_call(
        client, "POST", url, {"by": "alice", "comment": "known", "duration": "2h"}
    )
    assert status == 200
    assert (suppressed["status"], suppressed["suppressed_by"]) == ("suppressed", "alice")
    assert suppressed["suppressed_until"] > suppressed["suppressed_at"]

    await post_payload(client, example("kong-admin-api-resolved"))
    body = await detail(client, alert["id"])
    assert (body["status"], body["am_status"], body["resolved_at"]) == (
        "suppressed",
        "resolved",
        None,
    )
    assert [a["id"] for a in await get_alerts(client, status="suppressed")] == [alert["id"]]


@pytest.mark.parametrize(
    ("action", "body", "named"),
    [
        ("ack", {}, "by"),
        ("ack", {"by": ""}, "by"),
        ("ack", {"by": "a", "extra": 1}, "extra"),
        ("suppress", {"by": "a", "duration": "forever"}, "duration"),
        ("suppress", {"by": "a", "duration": "0h"}, "duration"),
        ("suppress", {"by": "a", "create_silence": True}, "alertmanager_url"),
    ],
)
async def test_bad_action_bodies_are_400(
    client: BridgeClient, action: str, body: dict[str, Any], named: str
) -> None:
    alert = await open_alert(client)
    status, answer = await api_call(client, "POST", f"/api/v1/alerts/{alert['id']}/{action}", body)
    assert status == 400
    assert named in answer["error"]
    assert (await detail(client, alert["id"]))["status"] == "open"


async def test_actions_need_the_api_token(client: BridgeClient) -> None:
    alert = await open_alert(client)
    async with client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"by": "x"}) as response:
        assert response.status == 401
    async with client.get(f"/api/v1/alerts/{alert['id']}") as response:
        assert response.status == 401


async def test_same_fingerprint_firing_again_is_merged_into_the_first(
    client: BridgeClient,
) -> None:
    await post_payload(client, make_payload(make_alert("f1")))
    await post_payload(client, make_payload(make_alert("f1", starts_at="2026-11-25T09:20:00Z")))

    second, first = await get_alerts(client)
    assert (first["occurrence_count"], first["primary_id"]) == (2, None)
    assert second["primary_id"] == first["id"]
    body = await detail(client, first["id"])
    [duplicate] = body["duplicates"]
    assert (duplicate["alert_id"], duplicate["exact"]) == (second["id"], True)
    assert body["last_occurrence_at"] is not None
    timeline = (await detail(client, second["id"]))["timeline"]
    assert timeline[-1]["message"].startswith(f"deduplicated into #{first['id']}")
    assert metric(client, "secmon_bridge_alerts_deduplicated_total", kind="exact") == 1


# An interval without weekdays matches every day: "business hours" all day long.
BUSINESS_HOURS_ALWAYS = [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}]


async def test_seed_severity_examples_with_reasons(bridge_client: ClientFactory) -> None:
    classification = {"business_hours": BUSINESS_HOURS_ALWAYS, "playbooks_dir": None}
    async with bridge_client(classification=classification) as client:
        await post_payload(
            client,
            make_payload(
                make_alert("hi", severity="high", environment="production",
                           criticality="critical", asset="payments-gw"),
                make_alert("med", severity="medium", environment="staging",
                           criticality="low", asset="sandbox", rule_id="other_rule"),
            ),
        )  # fmt: skip
        by_fingerprint = {a["fingerprint"]: a for a in await get_alerts(client)}
        high = await detail(client, by_fingerprint["hi"]["id"])
        medium = await detail(client, by_fingerprint["med"]["id"])

    assert (high["base_severity"], high["severity"]) == ("high", "critical")
    assert (medium["base_severity"], medium["severity"]) == ("medium", "low")
    factors = {r["factor"] for r in high["classification"]["reasons"]}
    assert {"asset_criticality", "environment", "business_hours"} <= factors
    assert any(r["factor"] == "asset_criticality" for r in medium["classification"]["reasons"])
