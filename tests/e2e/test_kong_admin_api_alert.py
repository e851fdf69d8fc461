"""A real alert end to end: fake Kong → exporter → Prometheus → Alertmanager → bridge.

Every hop is the real program: the fake Kong Admin API reports its Admin API on ``0.0.0.0:8001``
over plain HTTP, the exporter's Kong collector and the seed's ``kong_http_admin_api`` rule turn
that into ``secmon_rule_violation``, Prometheus (1 s scrape and evaluation) fires the compiled
alerting rule, Alertmanager (1 s group wait) posts it to the bridge with a bearer token, and the
bridge's API shows it. Fixing the fake resolves it the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import (
    REPO,
    ManagedProcess,
    alertmanager_process,
    bridge_process,
    detection_rule_files,
    exporter_process,
    prometheus_process,
    render_alertmanager_config,
    render_prometheus_config,
    write_yaml,
)
from tests.harness.wait import wait_until

pytestmark = pytest.mark.e2e

WEBHOOK_TOKEN = "e2e-webhook-token"
API_TOKEN = "e2e-api-token"
RULE_ID = "kong_http_admin_api"


async def _get(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
    async with session.get(url, **kwargs) as response:
        response.raise_for_status()
        return await response.json()


async def _wait_healthy(session: aiohttp.ClientSession, url: str, process: ManagedProcess) -> None:
    async def healthy() -> bool:
        assert process.running, f"{process.name} exited early"
        async with session.get(url) as response:
            return response.status == 200

    await wait_until(healthy, timeout=30, what=f"{process.name} at {url}")


async def test_kong_admin_api_over_http_alerts_in_bridge_then_resolves(
    launch: Launcher, workdir: Path, prometheus_binary: str, alertmanager_binary: str
) -> None:
    kong_port, exporter_port, bridge_port = free_port(), free_port(), free_port()
    prometheus_port, alertmanager_port = free_port(), free_port()
    kong_url = f"http://127.0.0.1:{kong_port}"
    bridge_url = f"http://127.0.0.1:{bridge_port}"

    exporter_config = write_yaml(
        workdir / "exporter.yml",
        {
            "rules": {"paths": [str(REPO / "rules")]},
            "collectors": [
                {
                    "type": "kong",
                    "name": "edge",
                    "admin_url": kong_url,
                    "environment": "production",
                    "interval": 1,
                    "timeout": 2,
                }
            ],
        },
    )
    bridge_config = write_yaml(
        workdir / "bridge.yml",
        {
            "database_url": f"sqlite:///{workdir / 'bridge.db'}",
            "webhook_token": WEBHOOK_TOKEN,
            "api_token": API_TOKEN,
        },
    )
    token_file = workdir / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN)
    am_config = write_yaml(
        workdir / "alertmanager.yml",
        render_alertmanager_config(
            webhook_url=f"{bridge_url}/api/v1/alertmanager", token_file=token_file
        ),
    )
    prom_config = write_yaml(
        workdir / "prometheus.yml",
        render_prometheus_config(
            exporter=f"127.0.0.1:{exporter_port}",
            bridge=f"127.0.0.1:{bridge_port}",
            alertmanager=f"127.0.0.1:{alertmanager_port}",
            rule_files=detection_rule_files(),
        ),
    )

    kong = launch(
        ManagedProcess(
            name="fake-kong",
            argv=[
                sys.executable,
                "-m",
                "exporter.fakes.kong",
                "--listen",
                f"127.0.0.1:{kong_port}",
                "--scenario",
                "insecure",
            ],
            log_path=workdir / "fake-kong.log",
        )
    )
    bridge = launch(bridge_process(workdir, bridge_port, bridge_config))
    exporter = launch(exporter_process(workdir, exporter_port, exporter_config))
    alertmanager = launch(
        alertmanager_process(alertmanager_binary, workdir, alertmanager_port, am_config)
    )
    prometheus = launch(
        prometheus_process(prometheus_binary, workdir, prometheus_port, prom_config)
    )

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    async with aiohttp.ClientSession() as session:
        await _wait_healthy(session, f"{kong_url}/status", kong)
        await _wait_healthy(session, f"{bridge_url}/-/healthy", bridge)
        await _wait_healthy(session, f"http://127.0.0.1:{exporter_port}/-/healthy", exporter)
        await _wait_healthy(session, f"http://127.0.0.1:{alertmanager_port}/-/ready", alertmanager)
        await _wait_healthy(session, f"http://127.0.0.1:{prometheus_port}/-/ready", prometheus)

        async def alert_with(status: str) -> dict[str, Any] | None:
            body = await _get(session, f"{bridge_url}/api/v1/alerts", headers=auth)
            for alert in body["alerts"]:
                if alert["rule_id"] == RULE_ID and alert["status"] == status:
                    return dict(alert)
            return None

        async def opened() -> dict[str, Any] | None:
            return await alert_with("open")

        alert = await wait_until(opened, timeout=60, what=f"an open {RULE_ID} alert in the bridge")
        assert alert["am_status"] == "firing"
        assert alert["severity"] == "critical"
        assert alert["labels"]["asset"] == "edge"
        assert alert["labels"]["platform"] == "kong"
        assert "0.0.0.0:8001" in alert["annotations"]["message"]

        # Fix the platform: the Admin API moves to loopback and TLS.
        async with session.post(f"{kong_url}/__fake__/scenario/secure") as response:
            assert response.status == 200, await response.text()

        async def resolved() -> dict[str, Any] | None:
            return await alert_with("resolved")

        done = await wait_until(resolved, timeout=60, what=f"the {RULE_ID} alert to resolve")
        assert done["id"] == alert["id"]
        assert done["resolved_at"] is not None
        assert (done["am_status"], done["resolved_by"]) == ("resolved", "alertmanager")
