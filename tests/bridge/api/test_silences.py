"""Suppress with ``create_silence`` against a real Alertmanager process (its v2 API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge.conftest import ClientFactory
from tests.bridge.helpers import api_call, example, get_alerts, post_payload
from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import alertmanager_process, render_alertmanager_config, write_yaml
from tests.harness.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
async def alertmanager_url(alertmanager_binary: str, launch: Launcher, workdir: Path) -> str:
    token = workdir / "webhook-token"
    token.write_text("unused")
    port = free_port()
    config = render_alertmanager_config(webhook_url="http://127.0.0.1:1/", token_file=token)
    path = write_yaml(workdir / "alertmanager.yml", config)
    launch(alertmanager_process(alertmanager_binary, workdir, port, path))
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool | None:
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{url}/-/ready") as r:
                return r.status == 200 or None
        except aiohttp.ClientError:
            return None

    await wait_until(ready, timeout=20, what="Alertmanager to be ready")
    return url


async def silence(url: str, silence_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/api/v2/silence/{silence_id}") as response,
    ):
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_suppress_creates_a_silence_on_the_alerts_exact_labels(
    bridge_client: ClientFactory, alertmanager_url: str
) -> None:
    async with bridge_client(alertmanager_url=alertmanager_url) as client:
        await post_payload(client, example("kong-admin-api-firing"))
        [alert] = await get_alerts(client)
        status, suppressed = await api_call(
            client,
            "POST",
            f"/api/v1/alerts/{alert['id']}/suppress",
            {"by": "alice", "comment": "maintenance", "duration": "2h", "create_silence": True},
        )
        assert status == 200, suppressed
        _, detail = await api_call(client, "GET", f"/api/v1/alerts/{alert['id']}")

    assert suppressed["status"] == "suppressed"
    silence_id = suppressed["silence_id"]
    created = await silence(alertmanager_url, silence_id)
    assert created["status"]["state"] == "active"
    assert (created["createdBy"], created["comment"]) == ("alice", "maintenance")
    matchers = {m["name"]: m["value"] for m in created["matchers"]}
    assert matchers == alert["labels"]
    assert all(not m["isRegex"] and m.get("isEqual", True) for m in created["matchers"])
    last = detail["timeline"][-1]
    assert (last["kind"], last["detail"]["silence_id"]) == ("suppressed", silence_id)


async def test_an_unreachable_alertmanager_is_502_and_changes_nothing(
    bridge_client: ClientFactory,
) -> None:
    async with bridge_client(alertmanager_url=f"http://127.0.0.1:{free_port()}") as client:
        await post_payload(client, example("kong-admin-api-firing"))
        [alert] = await get_alerts(client)
        url = f"/api/v1/alerts/{alert['id']}/suppress"
        status, body = await api_call(client, "POST", url, {"by": "a", "create_silence": True})
        assert status == 502
        assert "Alertmanager unreachable" in body["error"]
        assert [a["status"] for a in await get_alerts(client)] == ["open"]
