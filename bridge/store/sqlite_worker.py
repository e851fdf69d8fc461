"""A thread that owns one SQLite connection and runs jobs for the event loop.

sqlite3 is blocking and a connection belongs to one thread, so each connection gets its own
thread. In ``group_commit`` mode (the writer) the thread takes every job already queued, runs
each inside its own SAVEPOINT and commits them with a single COMMIT: with ``synchronous=FULL``
one fsync then covers many webhook deliveries, which is what makes durable writes fast. A job
that fails rolls back only its savepoint; a failed COMMIT fails every job of the group.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Bounds the work (and latency) one COMMIT can cover.
MAX_GROUP = 64


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        def apply() -> None:
            # The caller may have given up (timeout, cancellation) while the job ran.
            if self.future.done():
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        self.loop.call_soon_threadsafe(apply)


class SqliteWorker:
    """Runs ``fn(connection)`` on the worker's thread; ``await worker.run(fn)`` from the loop."""

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], *, name: str, group_commit: bool
    ) -> None:
        self._connect = connect
        self._group_commit = group_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    async def start(self) -> None:
        """Start the thread and open its connection; re-raises a failure to open."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._startup_error is not None:
            raise self._startup_error

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise sqlite3.OperationalError("SQLite worker thread is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        try:
            connection = self._connect()
        except BaseException as exc:  # noqa: BLE001 - handed to start(), which re-raises it
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (jobs := self._next_jobs()) is not None:
                if self._group_commit:
                    self._run_group(connection, jobs)
                else:
                    for job in jobs:
                        self._run_one(connection, job)
        finally:
            connection.close()

    def _next_jobs(self) -> list[_Job] | None:
        first = self._queue.get()
        if first is None:
            return None
        jobs = [first]
        while self._group_commit and len(jobs) < MAX_GROUP:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this group
                break
            jobs.append(job)
        return jobs

    @staticmethod
    def _run_one(connection: sqlite3.Connection, job: _Job) -> None:
        try:
            job.settle(job.fn(connection))
        except Exception as exc:  # noqa: BLE001 - the awaiting caller receives and handles it
            job.settle(error=exc)

    @staticmethod
    def _run_group(connection: sqlite3.Connection, jobs: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job in jobs:
                connection.execute("SAVEPOINT job")
                try:
                    result = job.fn(connection)
                except Exception as exc:  # noqa: BLE001 - only this job fails; its caller gets it
                    connection.execute("ROLLBACK TO job")
                    outcomes.append((job, None, exc))
                else:
                    outcomes.append((job, result, None))
                connection.execute("RELEASE job")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    logger.exception("SQLite rollback failed after: %s", exc)
            for job in jobs:
                job.settle(error=exc)
            return
        for job, result, error in outcomes:
            job.settle(result, error)
