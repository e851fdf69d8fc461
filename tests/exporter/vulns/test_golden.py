"""Byte-for-byte exposition of the vulnerability-report families, against golden files.

Regenerate after an intended change with ``SECMON_UPDATE_GOLDEN=1 pytest tests/exporter/vulns``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.vulns import VulnerabilityReportsCollector
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.vulns.conftest import vulns_config

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.parametrize(
    ("per_cve", "golden"), [(False, "vulns_reports.prom"), (True, "vulns_reports_per_cve.prom")]
)
async def test_vulnerability_families_match_golden_file(per_cve: bool, golden: str) -> None:
    collector = VulnerabilityReportsCollector(
        vulns_config(per_cve_metrics=per_cve), clock=lambda: 1_700_000_000.0
    )
    state = CollectorState(Scheduled(collector, "vulnerability_reports", timeout=5))
    state.snapshot = await collector.poll()
    registry = CollectorRegistry()
    registry.register(SnapshotMetrics([state]))
    rendered = generate_latest(registry).decode()
    if os.environ.get("SECMON_UPDATE_GOLDEN"):
        (GOLDEN / golden).write_text(rendered)
    assert rendered == (GOLDEN / golden).read_text()
    # Cardinality: CVE ids become labels only when asked for.
    assert ("cve_id=" in rendered) is per_cve
