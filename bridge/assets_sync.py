"""Copy the exporters' asset inventory and security scores into the bridge's ``assets`` table.

Each exporter serves its asset store at ``GET /api/v1/assets`` (declared and discovered
assets, owner, environment, criticality, open violations and the security score). The bridge
polls the exporters listed in ``asset_sync.exporters`` and upserts every row, so dashboards
query scores and alert history from one database. An exporter that does not answer, or answers
something malformed, is logged and counted; rows already stored stay as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.assets import CRITICALITIES, AssetRow
from bridge.tasks import stop_tasks

log = logging.getLogger(__name__)


class AssetSyncConfig(BaseModel):
    """``asset_sync``: which exporters to read, and how often."""

    model_config = ConfigDict(extra="forbid")

    exporters: list[str] = Field(default_factory=list)  # base URLs, e.g. http://exporter:9188
    interval_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)


class ExporterAsset(BaseModel):
    """One row of the exporter's ``/api/v1/assets``; extra fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    platform: str = Field(min_length=1)
    asset: str = Field(min_length=1)
    owner: str | None = None
    environment: str | None = None
    criticality: str | None = None
    security_score: float | None = Field(default=None, ge=0, le=100)


class ExporterAssets(BaseModel):
    model_config = ConfigDict(extra="ignore")

    assets: list[ExporterAsset]


class AssetSink(Protocol):
    async def upsert_assets(self, rows: Sequence[AssetRow]) -> None: ...


class SyncFailed(Exception):
    """An exporter could not be read; the message names it and what was wrong."""


class AssetSync:
    """Polls exporters' asset stores into the bridge's ``assets`` table."""

    def __init__(
        self,
        config: AssetSyncConfig,
        *,
        sink: AssetSink,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._sink = sink
        self._session = session
        self._clock = clock
        self.failures = 0

    async def fetch(self, base_url: str) -> list[AssetRow]:
        url = base_url.rstrip("/") + "/api/v1/assets"
        timeout = aiohttp.ClientTimeout(total=self._config.timeout_seconds)
        try:
            async with self._session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise SyncFailed(f"{url} answered HTTP {response.status}")
                body: Any = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SyncFailed(f"{url}: {type(exc).__name__}") from None
        try:
            parsed = ExporterAssets.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise SyncFailed(f"{url}: {where}: {first['msg']}") from None
        now = self._clock()
        return [
            AssetRow(
                platform=row.platform,
                asset_id=row.asset,
                # The table only knows the four levels; unknown or unset reads as medium.
                criticality=row.criticality if row.criticality in CRITICALITIES else "medium",
                environment=row.environment,
                owner=row.owner,
                security_score=row.security_score,
                updated_at=now,
            )
            for row in parsed.assets
        ]

    async def run_once(self) -> int:
        """Read every exporter and store what answered; returns the number of rows stored."""
        stored = 0
        for base_url in self._config.exporters:
            try:
                rows = await self.fetch(base_url)
            except SyncFailed as exc:
                self.failures += 1
                log.warning("asset sync skipped an exporter: %s", exc)
                continue
            await self._sink.upsert_assets(rows)
            stored += len(rows)
        return stored

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the store may be briefly unavailable; try again next round
                log.exception("asset sync round failed")
            await asyncio.sleep(self._config.interval_seconds)


async def asset_sync_context(app: web.Application) -> AsyncIterator[None]:
    """Run the sync while the app runs, when ``asset_sync.exporters`` lists any exporter."""
    # Imported here: bridge.keys imports the config, which imports this module's config model.
    from bridge.keys import CONFIG, HTTP_CLIENT, STORE

    config = app[CONFIG].asset_sync
    if not config.exporters:
        yield
        return
    sync = AssetSync(config, sink=app[STORE].asset_store(), session=app[HTTP_CLIENT])
    task = asyncio.create_task(sync.run(), name="asset-sync")
    try:
        yield
    finally:
        await stop_tasks([task])
