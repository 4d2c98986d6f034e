"""The receiver's group commit: batches in queue order, waiters woken after their batch,
errors reaching exactly the waiters they concern."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest

from meetergo_pipeline.webhooks.group_commit import ErrorOf, GroupCommit


@dataclass
class Item:
    value: int
    done: asyncio.Future[None]


def queue(commits: GroupCommit[Item], values: range) -> list[asyncio.Future[None]]:
    loop = asyncio.get_running_loop()
    return [commits.submit(Item(value, loop.create_future())) for value in values]


def test_items_queued_during_a_write_form_the_next_batch_in_order() -> None:
    batches: list[list[int]] = []
    first_started = threading.Event()
    release_first = threading.Event()

    def write(batch: list[Item]) -> None:
        if not batches:
            first_started.set()
            release_first.wait(10)
        batches.append([item.value for item in batch])

    async def scenario() -> None:
        commits: GroupCommit[Item] = GroupCommit(write, RuntimeError)
        first = queue(commits, range(1))
        await asyncio.to_thread(first_started.wait, 10)
        rest = queue(commits, range(1, 6))
        await asyncio.sleep(0.05)
        assert not any(future.done() for future in first + rest)
        release_first.set()
        await asyncio.gather(*first, *rest)
        await commits.drain()

    asyncio.run(scenario())
    assert batches == [[0], [1, 2, 3, 4, 5]]


def test_an_items_own_error_reaches_its_waiter_only() -> None:
    def write(batch: list[Item]) -> ErrorOf[Item] | None:
        return lambda item: OSError(f"item {item.value}") if item.value % 2 else None

    async def scenario() -> list[BaseException | None]:
        commits: GroupCommit[Item] = GroupCommit(write, RuntimeError)
        futures = queue(commits, range(4))
        return await asyncio.gather(*futures, return_exceptions=True)

    results = asyncio.run(scenario())
    assert [None if r is None else str(r) for r in results] == [None, "item 1", None, "item 3"]


def test_a_write_that_raises_fails_its_whole_batch_and_the_next_batch_still_runs() -> None:
    calls: list[int] = []

    def write(batch: list[Item]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise ValueError("disk gone")

    def failure(error: Exception) -> OSError:
        return OSError(f"write failed: {error}")

    async def scenario() -> tuple[list[BaseException | None], list[BaseException | None]]:
        commits: GroupCommit[Item] = GroupCommit(write, failure)
        failed = await asyncio.gather(*queue(commits, range(3)), return_exceptions=True)
        later = await asyncio.gather(*queue(commits, range(3, 4)), return_exceptions=True)
        return failed, later

    failed, later = asyncio.run(scenario())
    assert [str(error) for error in failed] == ["write failed: disk gone"] * 3
    assert later == [None]
    assert calls == [3, 1]


def test_drain_returns_once_everything_queued_is_written() -> None:
    written: list[int] = []

    def write(batch: list[Item]) -> None:
        written.extend(item.value for item in batch)

    async def scenario() -> list[bool]:
        commits: GroupCommit[Item] = GroupCommit(write, RuntimeError)
        futures = queue(commits, range(10))
        await commits.drain()
        return [future.done() for future in futures]

    assert asyncio.run(scenario()) == [True] * 10
    assert written == list(range(10))


@pytest.mark.parametrize("cancelled", [0, 2])
def test_a_cancelled_waiter_does_not_stop_the_others(cancelled: int) -> None:
    written: list[int] = []

    def write(batch: list[Item]) -> None:
        written.extend(item.value for item in batch)

    async def scenario() -> list[bool]:
        commits: GroupCommit[Item] = GroupCommit(write, RuntimeError)
        futures = queue(commits, range(3))
        futures[cancelled].cancel()
        await commits.drain()
        return [future.cancelled() for future in futures]

    assert asyncio.run(scenario()) == [index == cancelled for index in range(3)]
    assert written == [0, 1, 2]
