"""The exporter's asset inventory and security scores copied into the bridge's ``assets`` table.

A real ``secmon-exporter serve`` watches a misconfigured fake Kong with the whole rule pack; the
bridge's asset sync reads its ``/api/v1/assets`` into the store (SQLite and PostgreSQL), where
the seed's "Kong Security Score" panel query finds the score.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from bridge.assets_sync import AssetSync, AssetSyncConfig
from bridge.store import open_store
from tests.exporter.conftest import FakeKongServer, start_fake_kong
from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import REPO, exporter_process, write_yaml
from tests.harness.wait import wait_until

SEED_KONG_SCORE = "SELECT AVG(security_score) FROM assets WHERE platform='kong'"


@pytest.fixture
async def fake_kong() -> AsyncIterator[FakeKongServer]:
    runner, server = await start_fake_kong("insecure")
    yield server
    await runner.cleanup()


@pytest.fixture
async def exporter_url(launch: Launcher, tmp_path: Path, fake_kong: FakeKongServer) -> str:
    port = free_port()
    config = write_yaml(
        tmp_path / "exporter.yml",
        {
            "rules": {"paths": [str(REPO / "rules")]},
            "collectors": [
                {"type": "kong", "name": "edge", "admin_url": fake_kong.url, "interval": 0.5}
            ],
        },
    )
    launch(exporter_process(tmp_path, port, config))
    url = f"http://127.0.0.1:{port}"

    async def scored() -> bool:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/api/v1/assets") as r:
            rows = (await r.json())["assets"]
        return any(row["platform"] == "kong" and row["security_score"] < 100 for row in rows)

    await wait_until(scored, timeout=30, what="the exporter to score the Kong asset")
    return url


async def exporter_scores(url: str) -> dict[tuple[str, str], float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/api/v1/assets") as r:
        rows: list[dict[str, Any]] = (await r.json())["assets"]
    return {(row["platform"], row["asset"]): row["security_score"] for row in rows}


async def test_scores_reach_the_assets_table_and_the_seed_panel_query(
    database_url: str, exporter_url: str
) -> None:
    store = await open_store(database_url)
    try:
        assets = store.asset_store()
        async with aiohttp.ClientSession() as session:
            sync = AssetSync(
                AssetSyncConfig(exporters=[exporter_url]), sink=assets, session=session
            )
            assert await sync.run_once() >= 1
        expected = await exporter_scores(exporter_url)
        stored = {(row.platform, row.asset_id): row for row in await assets.list_assets()}
        edge = stored[("kong", "edge")]
        assert edge.security_score == expected[("kong", "edge")] < 100
        assert edge.environment == "production"
        assert edge.criticality in ("low", "medium", "high", "critical")
    finally:
        await store.close()
    if database_url.startswith("postgresql"):
        connection = await asyncpg.connect(database_url)
        try:
            average = await connection.fetchval(SEED_KONG_SCORE)
        finally:
            await connection.close()
        kong = [score for (platform, _), score in expected.items() if platform == "kong"]
        assert average == pytest.approx(sum(kong) / len(kong))


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_a_bad_exporter_is_skipped_and_stored_rows_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def malformed(request: web.Request) -> web.Response:
        return web.json_response({"assets": [{"platform": "kong", "security_score": 250}]})

    async def good(request: web.Request) -> web.Response:
        return web.json_response(
            {"assets": [{"platform": "github", "asset": "acme/api", "security_score": 60,
                         "criticality": "bogus", "extra": "ignored"}]}
        )  # fmt: skip

    bad_app, good_app = web.Application(), web.Application()
    bad_app.router.add_get("/api/v1/assets", malformed)
    good_app.router.add_get("/api/v1/assets", good)
    bad_runner, bad_url = await serve(bad_app)
    good_runner, good_url = await serve(good_app)
    store = await open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        assets = store.asset_store()
        config = AssetSyncConfig(exporters=[bad_url, "http://127.0.0.1:1", good_url])
        async with aiohttp.ClientSession() as session:
            sync = AssetSync(config, sink=assets, session=session)
            assert await sync.run_once() == 1
        assert sync.failures == 2
        [row] = await assets.list_assets()
        assert (row.platform, row.asset_id, row.security_score) == ("github", "acme/api", 60)
        assert row.criticality == "medium"  # an unknown level reads as medium
        messages = " ".join(record.getMessage() for record in caplog.records)
        assert "assets.0.asset" in messages  # the bad field is named
        assert "ClientConnectorError" in messages or "ClientConnect" in messages
    finally:
        await store.close()
        await bad_runner.cleanup()
        await good_runner.cleanup()
