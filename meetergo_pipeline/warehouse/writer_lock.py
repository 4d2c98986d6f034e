"""One writer per working DuckDB file for a whole run: an OS lock on `<file>.writer.lock`.

DuckDB's own file lock keeps out a second writer only while a connection is open, and a run
opens and closes one per step: two runs at once would interleave their steps (one's API
sync between the other's core build and publish). The warehouse resource therefore holds
this lock from the start of a run to its end, whatever started the run (a schedule, the
webhook sensor, the UI, the command line), so that is the one single-writer guarantee of
every path (docs/reliability.md).

The lock is `flock(2)`: the kernel releases it when the holding process ends, however it
ends (SIGKILL included), so a dead holder never blocks the next run. The holder writes who
it is into the file, and a run that finds the lock taken waits for it (bounded, announced)
and then fails naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from meetergo_pipeline import stop

LOCK_SUFFIX = ".writer.lock"
POLL_S = 0.25


class WarehouseBusyError(RuntimeError):
    """Another run holds the working file's writer lock and did not finish in time."""


def lock_path(database: str | Path) -> Path:
    return Path(f"{database}{LOCK_SUFFIX}")


@contextmanager
def writer_lock(
    database: str | Path,
    *,
    wait_s: float,
    run_id: str | None = None,
    announce: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the writer lock of `database` for the block.

    A lock held by another run is waited for up to `wait_s` seconds (`announce` is told
    once who holds it), then `WarehouseBusyError` names the holder and the setting; a stop
    request ends the wait with `StopRequested`.
    """
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, wait_s, announce)
        _write_holder(fd, run_id)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, path: Path, wait_s: float, announce: Callable[[str], None]) -> None:
    def take() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    wait_for_writer(
        take,
        lambda: _holder(fd),
        writing=path.name.removesuffix(LOCK_SUFFIX),
        writer="the warehouse's",
        wait_s=wait_s,
        announce=announce,
    )


def wait_for_writer(
    take: Callable[[], bool],
    holder: Callable[[], str],
    *,
    writing: str,
    writer: str,
    wait_s: float,
    announce: Callable[[str], None],
) -> None:
    """Call `take` every `POLL_S` until it takes the lock, for up to `wait_s` seconds.

    The first refusal tells `announce` who holds it (`holder`); at the deadline a
    `WarehouseBusyError` names `writing`, the holder and the setting; a stop request ends
    the wait with `StopRequested`. `writer` is whose writer is waited for, e.g. "the lake's".
    """
    deadline = time.monotonic() + wait_s
    announced = False
    while not take():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WarehouseBusyError(
                f"another run is writing {writing}: {holder()}; waited {wait_s:g} s. The "
                "warehouse has one writer at a time: run again once it has finished (or stop "
                "it); MEETERGO_WRITER_LOCK_WAIT_S sets how long a run waits."
            )
        if not announced:
            announce(f"waiting up to {wait_s:g} s for {writer} writer: {holder()}")
            announced = True
        stop.sleep(min(POLL_S, remaining))


def _write_holder(fd: int, run_id: str | None) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data = json.dumps(holder).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (it may be in the middle of writing it)."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
        text = f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"
    return text + (f", run {holder['run_id']}" if holder.get("run_id") else "")
