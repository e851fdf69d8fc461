"""Byte-for-byte exposition of the Kong collector's own families, against a golden file.

Regenerate after an intended change with ``SECMON_UPDATE_GOLDEN=1 pytest tests/exporter``.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.kong import KongCollector
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.conftest import FakeKongServer, kong_config

GOLDEN = Path(__file__).parent / "golden" / "kong_insecure.prom"


async def test_kong_families_match_golden_file(fake_kong: FakeKongServer) -> None:
    await fake_kong.control("PUT", "config", {"admin_gui_listen": ["0.0.0.0:8002"]})
    collector = KongCollector(kong_config(fake_kong.url), clock=lambda: 1_700_000_000.0)
    try:
        state = CollectorState(Scheduled(collector, "kong", timeout=5))
        state.snapshot = await collector.poll()
    finally:
        await collector.close()
    registry = CollectorRegistry()
    registry.register(SnapshotMetrics([state]))
    rendered = generate_latest(registry).decode()
    if os.environ.get("SECMON_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text()
