"""Byte-for-byte exposition of the Kong collector's families, against a golden file.

The fake Kong serves a recorded estate (``golden/kong_estate.json``: node, listeners, services,
routes, plugins, consumers); the collector polls twice with one plugin updated in between, so
the change counter and the request counts are part of the golden output too.

Regenerate after an intended change with ``SECMON_UPDATE_GOLDEN=1 pytest tests/exporter``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.kong import KongCollector
from exporter.fakes.kong import FAKE_KEY, KongState, create_app
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.conftest import kong_config
from tests.harness.services import free_port

GOLDEN = Path(__file__).parent / "golden"


def recorded_state() -> KongState:
    return KongState(**json.loads((GOLDEN / "kong_estate.json").read_text()))


async def test_kong_families_match_golden_file() -> None:
    app = create_app(recorded_state())
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    collector = KongCollector(
        kong_config(f"http://127.0.0.1:{port}", page_size=2), clock=lambda: 1_700_000_000.0
    )
    try:
        state = CollectorState(Scheduled(collector, "kong", timeout=5))
        await collector.poll()
        jwt = next(p for p in app[FAKE_KEY].state.entities["plugins"] if p["name"] == "jwt")
        jwt["config"]["claims_to_verify"] = []
        state.snapshot = await collector.poll()
    finally:
        await collector.close()
        await runner.cleanup()
    registry = CollectorRegistry()
    registry.register(SnapshotMetrics([state]))
    rendered = generate_latest(registry).decode()
    if os.environ.get("SECMON_UPDATE_GOLDEN"):
        (GOLDEN / "kong_insecure.prom").write_text(rendered)
    assert rendered == (GOLDEN / "kong_insecure.prom").read_text()
