"""Migration numbering: contiguous per dialect, refusing a database newer than the code."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bridge.store import open_store, postgres_sql
from bridge.store.migrate import Migration, check_versions, load_migrations, pending
from bridge.store.sqlite_sql import CREATE_SCHEMA_MIGRATIONS
from tests.bridge.helpers import drop_bridge_tables, query


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_shipped_migrations_are_contiguous(dialect: str) -> None:
    migrations = load_migrations(dialect)  # type: ignore[arg-type]
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


@pytest.mark.parametrize("versions", [[1, 2, 4], [2, 3], [1, 1, 2]])
def test_gaps_and_duplicates_are_refused(versions: list[int]) -> None:
    with pytest.raises(ValueError, match="without gaps or duplicates"):
        check_versions("sqlite", versions)


def test_pending_is_what_is_newer_and_a_newer_database_is_refused() -> None:
    migrations = [Migration(v, f"m{v}", "") for v in (1, 2, 3)]
    assert [m.version for m in pending(migrations, 1)] == [2, 3]
    assert pending(migrations, 3) == []
    with pytest.raises(ValueError, match="newer than this bridge"):
        pending(migrations, 4)


async def test_upgrade_moves_unprocessed_receipts_to_pending(tmp_path: Path) -> None:
    """A database stored by a bridge before pending_receipts keeps its unprocessed work."""
    path = tmp_path / "bridge.db"
    migrations = load_migrations("sqlite")
    (version,) = [m.version for m in migrations if m.name == "pending_receipts"]
    before = [m for m in migrations if m.version < version]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(CREATE_SCHEMA_MIGRATIONS)
        for migration in before:
            connection.executescript(migration.sql)
            connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, "2026-11-25T00:00:00+00:00"),
            )
        for fingerprint, processed in (("done", "2026-11-25T10:00:01+00:00"), ("todo", None)):
            connection.execute(
                "INSERT INTO alert_receipts (fingerprint, starts_at, status, payload_id, "
                "first_received_at, last_received_at, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fingerprint, "2026-11-25T09:00:00+00:00", "firing", 1,
                 "2026-11-25T10:00:00+00:00", "2026-11-25T10:00:00+00:00", processed),
            )  # fmt: skip
        connection.commit()

    store = await open_store(f"sqlite:///{path}")
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        pending_rows = connection.execute("SELECT fingerprint FROM pending_receipts").fetchall()
        columns = {row[1] for row in connection.execute("PRAGMA table_info(alert_receipts)")}
    assert pending_rows == [("todo",)]
    assert "processed_at" not in columns


async def test_upgrade_moves_escalation_times_to_the_schedule(tmp_path: Path) -> None:
    """Open primaries keep their next check time; finished and closed alerts get no row."""
    path = tmp_path / "bridge.db"
    migrations = load_migrations("sqlite")
    (version,) = [m.version for m in migrations if m.name == "escalation_schedule"]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(CREATE_SCHEMA_MIGRATIONS)
        for migration in (m for m in migrations if m.version < version):
            connection.executescript(migration.sql)
            connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, "2026-11-25T00:00:00+00:00"),
            )
        created = "2026-11-25T10:00:00.000000Z"
        for fingerprint, status, next_at in (
            ("new", "open", None),  # never looked at: due from its creation
            ("waiting", "open", "2026-11-25T10:15:00.000000Z"),
            ("finished", "open", "9999-12-31T23:59:59.999999Z"),
            ("acked", "acknowledged", "2026-11-25T10:15:00.000000Z"),
        ):
            connection.execute(
                "INSERT INTO alert_instances (fingerprint, am_status, status, labels, "
                "annotations, starts_at, created_at, updated_at, escalation_next_at) "
                "VALUES (?, 'firing', ?, '{}', '{}', ?, ?, ?, ?)",
                (fingerprint, status, created, created, created, next_at),
            )
        connection.commit()

    store = await open_store(f"sqlite:///{path}")
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT a.fingerprint, s.next_at FROM escalation_schedule s "
            "JOIN alert_instances a ON a.id = s.alert_id ORDER BY a.id"
        ).fetchall()
        columns = {row[1] for row in connection.execute("PRAGMA table_info(alert_instances)")}
    assert rows == [("new", created), ("waiting", "2026-11-25T10:15:00.000000Z")]
    assert "escalation_next_at" not in columns


async def postgres_before(postgres_url: str, name: str) -> asyncpg.Connection:
    """An emptied database migrated up to, not including, the migration called ``name``; the
    caller closes the connection."""
    await drop_bridge_tables(postgres_url)
    migrations = load_migrations("postgres")
    (version,) = [m.version for m in migrations if m.name == name]
    connection = await asyncpg.connect(postgres_url, timeout=5)
    await connection.execute(postgres_sql.CREATE_SCHEMA_MIGRATIONS)
    for migration in (m for m in migrations if m.version < version):
        await connection.execute(migration.sql)
        await connection.execute(
            postgres_sql.INSERT_SCHEMA_VERSION, migration.version, migration.name
        )
    return connection


@pytest.mark.postgres
async def test_postgres_upgrade_moves_escalation_times_to_the_schedule(postgres_url: str) -> None:
    """The same upgrade on PostgreSQL, where "no level left" was stored as 'infinity'."""
    connection = await postgres_before(postgres_url, "escalation_schedule")
    try:
        created = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        waiting = created + timedelta(minutes=15)
        for fingerprint, status, next_at in (
            ("new", "open", None),
            ("waiting", "open", waiting),
            ("finished", "open", "infinity"),
            ("acked", "acknowledged", waiting),
        ):
            await connection.execute(
                "INSERT INTO alert_instances (fingerprint, am_status, status, labels, "
                "annotations, starts_at, created_at, updated_at, escalation_next_at) "
                "VALUES ($1, 'firing', $2, '{}', '{}', $3, $3, $3, $4::text::timestamptz)",
                fingerprint,
                status,
                created,
                None if next_at is None else str(next_at),
            )
    finally:
        await connection.close()

    store = await open_store(postgres_url)
    await store.close()
    rows = await query(
        postgres_url,
        "SELECT a.fingerprint, s.next_at FROM escalation_schedule s "
        "JOIN alert_instances a ON a.id = s.alert_id ORDER BY a.id",
    )
    columns = await query(
        postgres_url,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'alert_instances' AND column_name = 'escalation_next_at'",
    )
    assert rows == [("new", created), ("waiting", waiting)]
    assert columns == []


@pytest.mark.postgres
async def test_postgres_hot_path_tables_leave_room_and_skip_per_row_checks(
    postgres_url: str,
) -> None:
    """alert_instances keeps free space for heap-only updates; the per-alert log tables and a
    duplicate's link to its primary carry no foreign key (a trigger and a row lock per row);
    the notification tables keep theirs."""
    await drop_bridge_tables(postgres_url)
    store = await open_store(postgres_url)
    await store.close()
    options = await query(
        postgres_url, "SELECT reloptions FROM pg_class WHERE relname = 'alert_instances'"
    )
    foreign_keys = await query(
        postgres_url,
        "SELECT conrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = 'alert_instances'::regclass ORDER BY 1",
    )
    assert options == [(["fillfactor=80"],)]
    assert foreign_keys == [("notification_messages",), ("notifications",)]


@pytest.mark.postgres
async def test_postgres_retention_indexes_built_beforehand_are_kept(postgres_url: str) -> None:
    """docs/operations.md: on a large history the operator builds the new indexes with
    CREATE INDEX CONCURRENTLY first; the migration then finds them instead of failing."""
    connection = await postgres_before(postgres_url, "history_retention")
    try:
        await connection.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS alert_instances_primary "
            "ON alert_instances (primary_id) WHERE primary_id IS NOT NULL"
        )
    finally:
        await connection.close()

    store = await open_store(postgres_url)
    await store.close()
    indexes = await query(
        postgres_url,
        "SELECT indexname FROM pg_indexes WHERE tablename IN ('alert_instances', "
        "'notifications', 'security_events') AND indexname IN ('alert_instances_primary', "
        "'notifications_escalation', 'security_events_created_at') ORDER BY 1",
    )
    assert indexes == [
        ("alert_instances_primary",),
        ("notifications_escalation",),
        ("security_events_created_at",),
    ]


@pytest.mark.postgres
async def test_postgres_bodies_become_text_and_new_values_use_lz4(postgres_url: str) -> None:
    """Migration 0015: a body stored as jsonb reads back as the same JSON, now text; the
    retention index still finds bodies to empty; the large JSON columns compress with lz4."""
    connection = await postgres_before(postgres_url, "lz4_and_raw_bodies")
    try:
        await connection.execute(
            "INSERT INTO webhook_payloads (sha256, group_key, receiver, status, "
            "truncated_alerts, alert_count, payload, received_at, last_received_at) "
            "VALUES ('d', '{}:{}', 'secmon', 'firing', 0, 0, $1::text::jsonb, now(), now())",
            '{"version": "4", "alerts": []}',
        )
    finally:
        await connection.close()

    store = await open_store(postgres_url)
    await store.close()
    [(body,)] = await query(postgres_url, "SELECT payload FROM webhook_payloads")
    assert json.loads(body) == {"version": "4", "alerts": []}
    compression = await query(
        postgres_url,
        "SELECT attrelid::regclass::text || '.' || attname, attcompression::text FROM pg_attribute "
        "WHERE attcompression::text <> '' AND attrelid::regclass::text IN "
        "('webhook_payloads', 'alert_instances', 'alert_timeline', 'security_events') "
        "ORDER BY 1",
    )
    assert compression == [
        ("alert_instances.annotations", "l"),
        ("alert_instances.duplicates", "l"),
        ("alert_instances.enrichment", "l"),
        ("alert_instances.labels", "l"),
        ("alert_instances.reasons", "l"),
        ("alert_timeline.detail", "l"),
        ("security_events.details", "l"),
        ("webhook_payloads.payload", "l"),
    ]
    [(index,)] = await query(
        postgres_url,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'webhook_payloads_unpruned'",
    )
    assert index.endswith("WHERE (payload <> '{}'::text)")
