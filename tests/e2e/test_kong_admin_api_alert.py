"""A real alert end to end: fake Kong → exporter → Prometheus → Alertmanager → bridge.

Every hop is the real program: the fake Kong Admin API reports its Admin API on ``0.0.0.0:8001``
over plain HTTP, the exporter's Kong collector and the seed's ``kong_http_admin_api`` rule turn
that into ``secmon_rule_violation``, Prometheus (1 s scrape and evaluation) fires the compiled
alerting rule, Alertmanager (1 s group wait) posts it to the bridge with a bearer token, and the
bridge's API shows it. Fixing the fake resolves it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge.helpers import query
from tests.harness.estate import start_estate
from tests.harness.processes import Launcher
from tests.harness.wait import wait_until

pytestmark = pytest.mark.e2e

RULE_ID = "kong_http_admin_api"


async def _get(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
    async with session.get(url, **kwargs) as response:
        response.raise_for_status()
        return await response.json()


async def test_kong_admin_api_over_http_alerts_in_bridge_then_resolves(
    launch: Launcher, workdir: Path, prometheus_binary: str, alertmanager_binary: str
) -> None:
    async with aiohttp.ClientSession() as session:
        estate = await start_estate(
            session,
            launch,
            workdir,
            prometheus_binary=prometheus_binary,
            alertmanager_binary=alertmanager_binary,
        )
        kong_url, bridge_url, auth = estate.kong_url, estate.bridge_url, estate.auth

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

    # The rule's metadata names PCI_DSS and SOC2: the resolution left the control compliant.
    async def assessed() -> list[tuple[Any, ...]] | None:
        rows = await query(
            f"sqlite:///{workdir / 'bridge.db'}",
            "SELECT cf.name, cc.control_ref, ca.asset_id, ca.status FROM compliance_assessments ca "
            "JOIN compliance_controls cc ON cc.id = ca.control_id "
            "JOIN compliance_frameworks cf ON cf.id = cc.framework_id "
            "WHERE cc.control_ref = 'kong_http_admin_api' ORDER BY 1",
        )
        return rows if rows and all(row[3] == "compliant" for row in rows) else None

    rows = await wait_until(assessed, timeout=30, what="compliance assessments marked compliant")
    assert rows == [
        ("PCI_DSS", RULE_ID, "edge", "compliant"),
        ("SOC2", RULE_ID, "edge", "compliant"),
    ]
