"""Byte-for-byte exposition of the GitHub collector's families, against a golden file.

Regenerate after an intended change with ``SECMON_UPDATE_GOLDEN=1 pytest tests/exporter``.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.github import GitHubCollector
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.github.conftest import FakeGitHubServer, github_config

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "github_insecure.prom"


async def test_github_families_match_golden_file(fake_github: FakeGitHubServer) -> None:
    fake_github.fake.rate_limit = 5000  # remaining depends only on the requests made
    # One repository at a time: the last rate-limit header seen is then always the same.
    collector = GitHubCollector(
        github_config(fake_github.url, concurrency=1), clock=lambda: 1_700_000_000.0
    )
    try:
        state = CollectorState(Scheduled(collector, "github", timeout=5))
        state.snapshot = await collector.poll()
    finally:
        await collector.close()
    registry = CollectorRegistry()
    registry.register(SnapshotMetrics([state]))
    rendered = generate_latest(registry).decode()
    if os.environ.get("SECMON_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text()
