"""The bridge app runs the anomaly scheduler when queries are configured and serves its scores."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from tests.bridge.anomaly.fake_prometheus import FakePrometheus, serve
from tests.bridge.helpers import bridge_config
from tests.harness.wait import wait_until


async def test_bridge_metrics_serve_anomaly_scores(tmp_path: Path) -> None:
    fake = FakePrometheus()
    fake.add({"service": "checkout", "asset": "edge"}, lambda t: 100.0)
    async with serve(fake) as url:
        config = bridge_config(
            f"sqlite:///{tmp_path / 'bridge.db'}",
            anomaly={
                "prometheus_url": url,
                "state_dir": str(tmp_path / "state"),
                "queries": [
                    {
                        "name": "requests",
                        "query": "demo",
                        "step": "1s",
                        "score_every": "1s",
                        "fit_window": "1m",
                    }
                ],
            },
        )
        async with TestClient(TestServer(create_app(config))) as client:

            async def scores() -> str | None:
                text = await (await client.get("/metrics")).text()
                return text if 'secmon_anomaly_score{asset="edge",for="requests"' in text else None

            text = await wait_until(scores, timeout=10, what="anomaly scores on /metrics")
    assert 'secmon_anomaly_queries_total{for="requests",outcome="success"}' in text
    assert (tmp_path / "state" / "requests.json").exists()
