"""Group commit for the receiver's durable writers (the log file and the PostgreSQL inbox).

Callers queue an item carrying its own future and await that future; one flusher task per
writer hands everything queued so far to `write` on a worker thread as one batch, and while
that batch is written new items queue up for the next. A waiter is woken only after its
batch's `write` returned: with None when its item was written, with the exception `write`
reported for its item, or, when `write` raised, with `failure` of what it raised. The flusher
ends when the queue is empty; `drain` waits for it, so nothing queued is left unwritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, Protocol, TypeVar


class Waiting(Protocol):
    """A queued item: the future its caller awaits (resolved once, by the flusher)."""

    @property
    def done(self) -> asyncio.Future[None]: ...


Item = TypeVar("Item", bound=Waiting)

# What `write` returns: None when every item was written, else the error (or None) per item.
ErrorOf = Callable[[Item], BaseException | None]


class GroupCommit(Generic[Item]):
    """Batches of queued items written by `write` on `executor` (None: asyncio's default).

    `write` runs on one worker thread at a time and sees batches in queue order; `failure`
    turns an exception `write` raised into the one every waiter of that batch receives.
    Used from the event loop's thread only.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], ErrorOf[Item] | None],
        failure: Callable[[Exception], BaseException],
        executor: Executor | None = None,
    ) -> None:
        self._write = write
        self._failure = failure
        self._executor = executor
        self._pending: list[Item] = []
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, item: Item) -> asyncio.Future[None]:
        """Queue `item` for the next batch; await the returned future (`item.done`)."""
        self._pending.append(item)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_until_idle())
        return item.done

    async def drain(self) -> None:
        """Wait until everything queued is written and its waiter woken."""
        if self._flusher is not None:
            await self._flusher

    async def _flush_until_idle(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                error_of: ErrorOf[Item] | None = None
                failed: BaseException | None = None
                try:
                    error_of = await loop.run_in_executor(self._executor, self._write, batch)
                except Exception as exc:  # never leave a waiter hanging
                    failed = self._failure(exc)
                for item in batch:
                    if item.done.done():
                        continue
                    error = failed if error_of is None else error_of(item)
                    if error is None:
                        item.done.set_result(None)
                    else:
                        item.done.set_exception(error)
        finally:
            self._flusher = None
