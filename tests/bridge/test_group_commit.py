"""GroupCommit: what arrives while a write is in flight is written together, next."""

from __future__ import annotations

import asyncio

import pytest

from bridge.store.group_commit import GroupCommit


class Recorder:
    """A group write that records each group and can be held open."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_group: set[str] = set()  # a group holding one of these raises
        self.fail_item: set[str] = set()  # these get an exception of their own

    async def __call__(self, items: list[str]) -> list[str | BaseException]:
        self.groups.append(list(items))
        await self.release.wait()
        if self.fail_group & set(items):
            raise ValueError("group refused")
        return [KeyError(i) if i in self.fail_item else i.upper() for i in items]


async def test_an_idle_writer_writes_an_item_at_once_and_alone() -> None:
    write = Recorder()
    group: GroupCommit[str, str] = GroupCommit(write)
    assert await group.submit("a") == "A"
    assert await group.submit("b") == "B"
    assert write.groups == [["a"], ["b"]]


async def test_items_that_arrive_during_a_write_share_the_next_one() -> None:
    write = Recorder()
    sizes: list[int] = []
    group: GroupCommit[str, str] = GroupCommit(write, on_group=sizes.append)
    write.release.clear()
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert write.groups == [["a"]]  # in flight, held
    later = [asyncio.create_task(group.submit(x)) for x in "bcd"]
    await asyncio.sleep(0)
    write.release.set()
    assert await first == "A"
    assert [await t for t in later] == ["B", "C", "D"]
    assert write.groups == [["a"], ["b", "c", "d"]]
    assert sizes == [1, 3]


async def test_a_group_holds_at_most_max_group_items() -> None:
    write = Recorder()
    group: GroupCommit[str, str] = GroupCommit(write, max_group=2)
    results = await asyncio.gather(*(group.submit(x) for x in "abcde"))
    assert results == ["A", "B", "C", "D", "E"]
    assert write.groups == [["a", "b"], ["c", "d"], ["e"]]


async def test_max_in_flight_writes_run_at_once() -> None:
    write = Recorder()
    write.release.clear()
    group: GroupCommit[str, str] = GroupCommit(write, max_in_flight=2, max_group=1)
    tasks = [asyncio.create_task(group.submit(x)) for x in "abc"]
    for _ in range(3):
        await asyncio.sleep(0)
    assert write.groups == [["a"], ["b"]]  # two held in flight, c waits
    write.release.set()
    assert [await t for t in tasks] == ["A", "B", "C"]


async def test_a_failed_write_fails_its_group_only() -> None:
    write = Recorder()
    write.release.clear()
    write.fail_group = {"b"}
    group: GroupCommit[str, str] = GroupCommit(write)
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)
    failing = [asyncio.create_task(group.submit(x)) for x in "bc"]
    await asyncio.sleep(0)
    write.release.set()
    assert await first == "A"
    for task in failing:
        with pytest.raises(ValueError, match="group refused"):
            await task
    assert await group.submit("d") == "D"  # the writer carries on


async def test_an_item_can_fail_alone() -> None:
    write = Recorder()
    write.fail_item = {"b"}
    group: GroupCommit[str, str] = GroupCommit(write)
    results = await asyncio.gather(*(group.submit(x) for x in "abc"), return_exceptions=True)
    assert results[0] == "A"
    assert isinstance(results[1], KeyError)
    assert results[2] == "C"


async def test_a_caller_that_gives_up_leaves_the_rest_of_its_group_alone() -> None:
    write = Recorder()
    write.release.clear()
    group: GroupCommit[str, str] = GroupCommit(write)
    gone = asyncio.create_task(group.submit("a"))
    kept = asyncio.create_task(group.submit("b"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gone.cancel()
    write.release.set()
    assert await kept == "B"
    assert gone.cancelled()
    assert write.groups == [["a", "b"]]  # written all the same: the caller only stopped waiting


@pytest.mark.timeout(10)
async def test_a_new_item_right_after_a_write_is_written() -> None:
    """The writer that just answered may still be finishing when its caller submits again:
    the next item must start a writer of its own, not wait behind one that is ending."""
    write = Recorder()
    group: GroupCommit[str, str] = GroupCommit(write)
    for item in "abcdef":
        assert await group.submit(item) == item.upper()


async def test_close_waits_for_what_is_in_flight_and_queued() -> None:
    write = Recorder()
    write.release.clear()
    group: GroupCommit[str, str] = GroupCommit(write)
    tasks = [asyncio.create_task(group.submit(x)) for x in "ab"]
    await asyncio.sleep(0)
    closing = asyncio.create_task(group.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    write.release.set()
    await closing
    assert all(t.done() for t in tasks)
    assert [t.result() for t in tasks] == ["A", "B"]


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(Recorder(), max_group=0)
