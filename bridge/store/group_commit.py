"""Group commit: items that arrive while a write is in flight go together in the next one.

The receiver's durable write is one statement and one transaction per webhook delivery. Under
load most of its cost is per statement, not per alert: the round trip that wakes the database
server, planning, and the WAL flush at commit. :class:`GroupCommit` keeps at most
``max_in_flight`` writes running; what is submitted meanwhile queues, and the next write takes
everything queued (up to ``max_group``) as one. An idle bridge writes each delivery at once,
alone, so this adds no latency; a busy one writes fewer, larger groups, which is what lets it
keep up. Every caller still waits for the commit that covers its own item.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# A write's outcome per item, in order: its result, or the exception that item alone gets.
GroupWrite = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class GroupCommit(Generic[T, R]):
    """``await group.submit(item)`` returns ``item``'s result once its group is written.

    ``write(items)`` must return one outcome per item, in order; if it raises, every item of
    the group gets that exception.
    """

    def __init__(
        self,
        write: GroupWrite[T, R],
        *,
        max_group: int = 64,
        max_in_flight: int = 1,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        if max_group < 1 or max_in_flight < 1:
            raise ValueError("max_group and max_in_flight must be at least 1")
        self._write = write
        self._max_group = max_group
        self._max_in_flight = max_in_flight
        self.on_group = on_group  # told each group's size as it is taken
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._writers: set[asyncio.Task[None]] = set()
        # Writers still draining. Counted apart from the tasks: a writer that found the queue
        # empty is done at once, though its task is removed from the set only later.
        self._draining = 0

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._draining < self._max_in_flight:
            self._draining += 1
            task = asyncio.create_task(self._drain(), name="group-commit")
            self._writers.add(task)
            task.add_done_callback(self._writers.discard)
        return await future

    async def _drain(self) -> None:
        """Write groups until nothing is queued; the writer then ends."""
        try:
            await self._write_groups()
        finally:
            self._draining -= 1

    async def _write_groups(self) -> None:
        while self._queue:
            count = min(len(self._queue), self._max_group)
            group = [self._queue.popleft() for _ in range(count)]
            if self.on_group is not None:
                self.on_group(count)
            try:
                outcomes = await self._write([item for item, _ in group])
                if len(outcomes) != count:
                    raise RuntimeError(f"group write returned {len(outcomes)} of {count} outcomes")
            except asyncio.CancelledError:  # the loop is shutting down: nobody gets an answer
                for _, future in (*group, *self._queue):
                    future.cancel()
                self._queue.clear()
                raise
            except Exception as exc:  # noqa: BLE001 - every waiter of the group gets it
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():  # its caller gave up (timeout, disconnect) meanwhile
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def close(self) -> None:
        """Wait for the groups in flight (and what is queued behind them) to be written."""
        while self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)
