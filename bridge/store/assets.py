"""The asset table the dashboards read: one row per (platform, asset) with its security score.

The exporter owns the inventory (declared in ``assets.yml``, discovered from events) and
computes each asset's security score; the bridge copies it into ``assets`` so SQL panels such
as the seed's "Kong Security Score" (``SELECT AVG(security_score) FROM assets WHERE
platform='kong'``) read it beside the alert history.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from bridge.assets import AssetRow

T = TypeVar("T")


_SQLITE_UPSERT = """
INSERT INTO assets (platform, asset_id, criticality, environment, owner, security_score,
                    updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (platform, asset_id) DO UPDATE SET
    criticality = excluded.criticality, environment = excluded.environment,
    owner = excluded.owner, security_score = excluded.security_score,
    updated_at = excluded.updated_at
"""
_POSTGRES_UPSERT = """
INSERT INTO assets (platform, asset_id, criticality, environment, owner, security_score,
                    updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::double precision[], $7::timestamptz[])
ON CONFLICT (platform, asset_id) DO UPDATE SET
    criticality = excluded.criticality, environment = excluded.environment,
    owner = excluded.owner, security_score = excluded.security_score,
    updated_at = excluded.updated_at
"""
_SELECT = (
    "SELECT platform, asset_id, criticality, environment, owner, security_score, updated_at "
    "FROM assets ORDER BY platform, asset_id"
)


class SqliteAssetStore:
    """Runs its statements through the SQLite store's reader and writer threads."""

    def __init__(
        self,
        *,
        read: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]],
        write: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]],
    ) -> None:
        self._read = read
        self._write = write

    async def upsert_assets(self, rows: Sequence[AssetRow]) -> None:
        values = [
            (r.platform, r.asset_id, r.criticality, r.environment, r.owner, r.security_score,
             r.updated_at.isoformat().replace("+00:00", "Z"))
            for r in rows
        ]  # fmt: skip

        # The writer thread runs each job in its own SAVEPOINT inside a group commit.
        if values:
            await self._write(lambda c: c.executemany(_SQLITE_UPSERT, values))

    async def list_assets(self) -> builtins.list[AssetRow]:
        rows: list[tuple[Any, ...]] = await self._read(lambda c: c.execute(_SELECT).fetchall())
        return [
            AssetRow(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6])) for r in rows
        ]


class PostgresAssetStore:
    """Runs its statements on connections of the PostgreSQL store's pool."""

    def __init__(self, *, with_connection: Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]):
        self._run: Any = with_connection

    async def upsert_assets(self, rows: Sequence[AssetRow]) -> None:
        if not rows:
            return
        columns = (
            [r.platform for r in rows], [r.asset_id for r in rows],
            [r.criticality for r in rows], [r.environment for r in rows],
            [r.owner for r in rows], [r.security_score for r in rows],
            [r.updated_at for r in rows],
        )  # fmt: skip
        await self._run(lambda c: c.execute(_POSTGRES_UPSERT, *columns))

    async def list_assets(self) -> builtins.list[AssetRow]:
        records = await self._run(lambda c: c.fetch(_SELECT))
        return [AssetRow(*record) for record in records]
