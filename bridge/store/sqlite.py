"""The embedded SQLite store: one file, WAL mode, one writer thread with group commit.

The writer runs with ``synchronous=FULL``: a delivery is on disk before the webhook answers
2xx, and group commit (see :mod:`bridge.store.sqlite_worker`) keeps that affordable. Reads run
on a second connection and thread, which WAL lets proceed while the writer commits; WAL
checkpoints on a third (:mod:`bridge.store.sqlite_checkpoint`), so the writer does not copy
pages back into the database file inside its commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bridge.store import sqlite_lifecycle as lifecycle
from bridge.store import sqlite_pending
from bridge.store import sqlite_sql as sql
from bridge.store.assets import SqliteAssetStore
from bridge.store.base import (
    AlertPage,
    AlertQuery,
    Delivery,
    ReceiptResult,
    StoredAlert,
    StoreError,
    StoreUnavailable,
)
from bridge.store.escalation_sqlite import SqliteEscalationStore
from bridge.store.migrate import load_migrations, pending
from bridge.store.pending import PendingDelivery
from bridge.store.records import (
    AlertDetail,
    AppliedWrite,
    ClassificationHistory,
    PreparedWrite,
    ProcessingWrite,
    PrunedHistory,
    Transition,
)
from bridge.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from bridge.store.sqlite_worker import SqliteWorker

T = TypeVar("T")


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise StoreError("SQLite URL must look like sqlite:///file.db or sqlite:////abs/file.db")
    return Path(url[len(prefix) :])


def _is_temporary(exc: sqlite3.Error) -> bool:
    # Locked, busy, I/O error, disk full, read-only, unopenable: the operator can fix these
    # and Alertmanager should retry. Integrity/programming errors are bugs, not outages.
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    )


class SqliteStore:
    """:class:`~bridge.store.base.AlertStore` on a SQLite file."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._writer = SqliteWorker(self._connect_writer, name="sqlite-writer", group_commit=True)
        self._reader = SqliteWorker(self._connect_reader, name="sqlite-reader", group_commit=False)
        self._checkpointer = Checkpointer(self._connect_checkpointer)

    @classmethod
    async def open(cls, url: str, *, timeout_seconds: float = 5.0) -> SqliteStore:
        """Open (creating if needed) the database file and apply pending migrations."""
        store = cls(sqlite_path(url), timeout=timeout_seconds)
        try:
            await asyncio.to_thread(store._migrate)
            await store._writer.start()
            await store._reader.start()
            store._checkpointer.start()
        except (sqlite3.Error, OSError, ValueError) as exc:
            await store.close()
            raise StoreError(f"cannot open SQLite database {store._path}: {exc}") from exc
        return store

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN/SAVEPOINT), never implicit.
        connection = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _connect_writer(self) -> sqlite3.Connection:
        connection = self._connect()
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
        return connection

    def _connect_checkpointer(self) -> sqlite3.Connection:
        connection = self._connect()
        connection.execute("PRAGMA synchronous = FULL")  # syncs around each copy
        return connection

    def _connect_reader(self) -> sqlite3.Connection:
        connection = self._connect()
        connection.execute("PRAGMA query_only = ON")
        return connection

    def _migrate(self) -> None:
        connection = self._connect_writer()
        try:
            connection.execute(sql.CREATE_SCHEMA_MIGRATIONS)
            (applied,) = connection.execute(sql.SELECT_SCHEMA_VERSION).fetchone()
            for migration in pending(load_migrations("sqlite"), applied):
                try:
                    connection.executescript(
                        f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                        f"INSERT INTO schema_migrations (version, name, applied_at) "
                        f"VALUES ({migration.version}, '{migration.name}', "
                        f"strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));\nCOMMIT;"
                    )
                except sqlite3.Error:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
        finally:
            connection.close()

    async def _call(self, worker: SqliteWorker, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            # The busy timeout bounds lock waits inside SQLite; this bounds everything else,
            # with room for the jobs queued ahead of this one. asyncio.timeout, not wait_for:
            # on 3.11 wait_for drops a cancellation that races with the job finishing, and
            # a background loop calling the store then never stops.
            async with asyncio.timeout(self._timeout * 2):
                return await worker.run(fn)
        except TimeoutError:
            raise StoreUnavailable("SQLite did not answer in time") from None
        except sqlite3.Error as exc:
            if _is_temporary(exc):
                raise StoreUnavailable(f"SQLite: {exc}") from exc
            raise StoreError(f"SQLite: {exc}") from exc

    async def record_delivery(self, delivery: Delivery) -> list[ReceiptResult]:
        return await self._call(self._writer, lambda c: sql.record_delivery(c, delivery))

    async def list_alerts(self, query: AlertQuery) -> AlertPage:
        return await self._call(self._reader, lambda c: sql.list_alerts(c, query))

    async def get_alert(self, alert_id: int) -> AlertDetail | None:
        return await self._call(self._reader, lambda c: lifecycle.get_alert(c, alert_id))

    async def classification_history(
        self,
        pairs: Sequence[tuple[str | None, str | None]],
        *,
        now: datetime,
    ) -> ClassificationHistory:
        return await self._call(
            self._reader, lambda c: lifecycle.classification_history(c, pairs, now)
        )

    async def apply_processing(self, write: ProcessingWrite) -> AppliedWrite:
        return await self.apply_prepared(self.prepare_processing(write))

    def prepare_processing(self, write: ProcessingWrite) -> PreparedWrite:
        # The writer thread encodes the rows as it writes them, off the event loop already.
        return PreparedWrite(write)

    async def apply_prepared(self, prepared: PreparedWrite) -> AppliedWrite:
        write = prepared.write
        return await self._call(self._writer, lambda c: lifecycle.apply_processing(c, write))

    async def claim_unprocessed(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[PendingDelivery]:
        return await self._call(
            self._writer, lambda c: sqlite_pending.claim_unprocessed(c, now, lease, limit)
        )

    async def transition(self, transition: Transition) -> StoredAlert:
        # AlertNotFound / InvalidTransition pass through _call untouched (not sqlite3 errors).
        return await self._call(self._writer, lambda c: lifecycle.transition(c, transition))

    async def expire_stale(self, *, cutoff: datetime, now: datetime) -> list[StoredAlert]:
        return await self._call(self._writer, lambda c: lifecycle.expire_stale(c, cutoff, now))

    async def end_suppressions(self, *, now: datetime) -> list[StoredAlert]:
        return await self._call(self._writer, lambda c: lifecycle.end_suppressions(c, now))

    async def open_counts(self) -> dict[str, int]:
        return await self._call(self._reader, lifecycle.open_counts)

    async def prune_payload_bodies(self, *, received_before: datetime, limit: int) -> int:
        return await self._call(
            self._writer, lambda c: lifecycle.prune_payload_bodies(c, received_before, limit)
        )

    async def prune_history(self, *, before: datetime, limit: int) -> PrunedHistory:
        return await self._call(self._writer, lambda c: lifecycle.prune_history(c, before, limit))

    async def ping(self) -> None:
        await self._call(self._reader, sql.ping)

    def asset_store(self) -> SqliteAssetStore:
        """The ``assets`` table the dashboards read (filled by the asset sync)."""
        return SqliteAssetStore(
            read=lambda fn: self._call(self._reader, fn),
            write=lambda fn: self._call(self._writer, fn),
        )

    def escalation_store(self) -> SqliteEscalationStore:
        """Escalation claims, message refs, delivery log and dead letters (issue 6)."""
        return SqliteEscalationStore(
            read=lambda fn: self._call(self._reader, fn),
            write=lambda fn: self._call(self._writer, fn),
        )

    async def close(self) -> None:
        await asyncio.to_thread(self._checkpointer.stop)
        await self._writer.stop()
        await self._reader.stop()
