"""The SQLite store's WAL checkpoints run on their own thread, not in the writer's commits."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bridge.alertmanager import parse_payload, to_delivery
from bridge.store import open_store
from bridge.store.sqlite import SqliteStore
from bridge.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from tests.bridge.helpers import make_alert, make_payload

RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


async def test_checkpoints_happen_beside_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    store = await open_store(f"sqlite:///{path}")
    assert isinstance(store, SqliteStore)
    try:
        writer_backstop = await store._call(
            store._writer, lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        size_before = path.stat().st_size
        for n in range(40):
            payload = make_payload(*(make_alert(f"fp-{n}-{i}") for i in range(10)))
            body = json.dumps(payload).encode()
            await store.record_delivery(
                to_delivery(parse_payload(body), body, received_at=RECEIVED)
            )
        # A few hundred WAL pages, far below the writer's backstop: while the store is open
        # (closing checkpoints too), only the checkpointer copies pages into the file.
        wal = path.with_name(path.name + "-wal")
        assert 0 < wal.stat().st_size < BACKSTOP_PAGES * 4096
        grew = False
        for _ in range(50):
            grew = path.stat().st_size > size_before
            if grew:
                break
            await asyncio.sleep(0.1)
    finally:
        await store.close()
    assert writer_backstop == BACKSTOP_PAGES
    assert grew
    assert store._checkpointer.checkpoints > 0
    assert not store._checkpointer._thread.is_alive()  # close() ended it


def test_a_database_it_cannot_open_ends_the_thread_quietly(tmp_path: Path) -> None:
    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    checkpointer = Checkpointer(refuse, interval=0.01)
    checkpointer.start()
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
