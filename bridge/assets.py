"""Asset rows and the store interface for the ``assets`` table (no store imports here, so the
config can name the sync's settings without importing the store package)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bridge.frozen import frozen

CRITICALITIES = ("low", "medium", "high", "critical")


@frozen
class AssetRow:
    platform: str
    asset_id: str
    criticality: str
    environment: str | None
    owner: str | None
    security_score: float | None
    updated_at: datetime


class AssetStore(Protocol):
    async def upsert_assets(self, rows: Sequence[AssetRow]) -> None:
        """Insert or replace each (platform, asset_id) row, in one transaction."""
        ...

    async def list_assets(self) -> builtins.list[AssetRow]:
        """Every row, ordered by platform and asset."""
        ...
