"""Inventory end to end: Kong events enriched, scored from live violations, served as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.cli import build_runtime
from exporter.config import ExporterConfig
from exporter.detection import DetectionState
from exporter.http import create_app
from exporter.inventory import Inventory
from tests.exporter.conftest import FakeKongServer
from tests.harness.services import free_port
from tests.harness.wait import wait_until

ROOT = Path(__file__).resolve().parents[3]


async def test_scores_and_asset_api(fake_kong: FakeKongServer, tmp_path: Path) -> None:
    assets = tmp_path / "assets.yml"
    assets.write_text(
        "assets:\n"
        "  - {platform: kong, id: edge, owner: team-gateway, environment: prod-eu,"
        " criticality: critical, tags: [pci]}\n"
    )
    config = ExporterConfig.model_validate(
        {
            "rules": {"paths": [str(ROOT / "rules")]},
            "inventory": {"path": str(assets)},
            "collectors": [
                {"type": "kong", "name": "edge", "admin_url": fake_kong.url, "interval": 0.2}
            ],
        }
    )
    registry = CollectorRegistry()
    detection = DetectionState.from_paths(config.rules.paths)
    inventory = Inventory.from_config(config.inventory, violations=detection.violations)
    registry.register(detection)
    registry.register(inventory)
    runtime = build_runtime(config, registry, detection, enricher=inventory)
    runner = web.AppRunner(create_app(runtime=runtime, registry=registry, inventory=inventory))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:

        async def edge_row() -> dict[str, Any] | None:
            async with aiohttp.ClientSession() as s, s.get(f"{base}/api/v1/assets") as r:
                rows = (await r.json())["assets"]
            row = next((a for a in rows if a["asset"] == "edge"), None)
            return row if row and row["security_score"] < 100 else None

        row = await wait_until(edge_row, timeout=10, what="edge scored")
        # Insecure fake: admin API on HTTP 0.0.0.0:8001 (critical kong_http_admin_api, high
        # public bind), admin GUI not listening, a route without auth (medium), cors
        # disabled (high).
        assert row["open_violations"] == {"critical": 1, "high": 2, "medium": 1, "low": 0}
        assert row["security_score"] == 10  # 100 - 40 - 2*20 - 10
        assert (row["owner"], row["environment"], row["criticality"]) == (
            "team-gateway",
            "prod-eu",
            "critical",
        )
        assert (row["declared"], row["discovered"]) == (True, True)
        async with aiohttp.ClientSession() as s, s.get(f"{base}/metrics") as r:
            body = await r.text()
        assert 'secmon_asset_security_score{asset="edge",platform="kong"} 10.0' in body
        assert 'owner="team-gateway"' in body
        # The inventory's environment reached the violation labels through enrichment.
        violations = [ln for ln in body.splitlines() if ln.startswith("secmon_rule_violation{")]
        assert violations
        assert all('environment="prod-eu"' in ln for ln in violations)

        await fake_kong.use("secure")

        # Secure fake: TLS admin API on a private address, every public route authenticated.
        assert await wait_until(lambda: _score(base), timeout=10, what="score recovers") == 100
    finally:
        await runner.cleanup()


async def _score(base: str) -> int | None:
    async with aiohttp.ClientSession() as s, s.get(f"{base}/api/v1/assets") as r:
        rows = (await r.json())["assets"]
    score = next(a["security_score"] for a in rows if a["asset"] == "edge")
    return int(score) if score == 100 else None
