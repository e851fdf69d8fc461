"""Versioned SQL migrations shipped in ``bridge/store/migrations/<dialect>/NNNN_name.sql``.

Each backend applies, in version order, every migration newer than the highest version in its
``schema_migrations`` table, each in its own transaction together with its bookkeeping row, so
a crash mid-migration leaves the schema at the previous version.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Literal

from bridge.frozen import frozen

Dialect = Literal["sqlite", "postgres"]

_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@frozen
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: Dialect) -> list[Migration]:
    """The dialect's migrations sorted by version; rejects gaps, duplicates and stray files."""
    folder = resources.files("bridge.store").joinpath("migrations", dialect)
    migrations: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILENAME.match(entry.name)
        if match is None:
            raise ValueError(f"migration {dialect}/{entry.name}: name must be NNNN_name.sql")
        migrations.append(
            Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8"))
        )
    migrations.sort(key=lambda m: m.version)
    check_versions(dialect, [m.version for m in migrations])
    return migrations


def check_versions(dialect: str, versions: list[int]) -> None:
    """Versions must run 1, 2, 3, ...: with a gap, a migration numbered into it later would be
    skipped on every database already past it."""
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(
            f"{dialect} migrations must be numbered 0001, 0002, ... without gaps or duplicates "
            f"(found {', '.join(f'{v:04d}' for v in versions)})"
        )


def pending(migrations: list[Migration], applied_version: int) -> list[Migration]:
    """Migrations newer than ``applied_version``; refuses a database newer than this code."""
    latest = migrations[-1].version if migrations else 0
    if applied_version > latest:
        raise ValueError(
            f"database schema is at version {applied_version}, newer than this bridge "
            f"({latest}); upgrade secmon-bridge"
        )
    return [m for m in migrations if m.version > applied_version]
