"""WAL checkpoints on a thread of their own, so that the writer never does them.

In WAL mode every commit appends the pages it changed to the ``-wal`` file; a checkpoint
copies them back into the database file. By default the connection that commits past 1,000
WAL pages runs that checkpoint itself, inside its COMMIT: with one writer thread that is the
thread every webhook waits for, and under load it spent a large share of its time in those
copies. :class:`Checkpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval``
seconds on its own connection instead. A passive checkpoint takes no lock that writers or
readers wait for, and sqlite3 releases the GIL while it runs, so on a machine with a second
core the copying happens next to the writer, not in its way. The writer keeps an automatic
checkpoint only as a backstop (``BACKSTOP_PAGES``), for a checkpointer that cannot keep up.

Durability does not change: a commit is durable once its WAL frames are synced
(``synchronous=FULL``); the checkpoint syncs the WAL before it copies and the database file
after.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

# The writer's own automatic checkpoint (PRAGMA wal_autocheckpoint), in pages of 4 KiB: only
# reached when the checkpointer falls behind (or is stopped), about 64 MiB of WAL.
BACKSTOP_PAGES = 16_000
INTERVAL_SECONDS = 0.2


class Checkpointer:
    """``start()`` a daemon thread checkpointing every ``interval`` s; ``stop()`` ends it."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        interval: float = INTERVAL_SECONDS,
        name: str = "sqlite-checkpointer",
    ) -> None:
        self._connect = connect
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.checkpoints = 0  # completed runs, for tests and debugging

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait (at most ``timeout`` s) for its current run."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            connection = self._connect()
        except sqlite3.Error as exc:
            logger.error("SQLite checkpointer cannot open the database: %s", exc)
            return
        try:
            while not self._stopping.wait(self._interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    # Busy or I/O trouble: the writer's backstop checkpoint still bounds the
                    # WAL, and the store's own errors report the outage.
                    logger.debug("SQLite checkpoint skipped: %s", exc)
                    continue
                self.checkpoints += 1
        finally:
            connection.close()
