"""Stop requests: SIGINT or SIGTERM end a sync within seconds, keeping every committed row.

One process-wide request, set once (`request_stop`) and seen by every wait the pipeline
makes: the rate budget, the HTTP client's backoff, a paging worker handing a page over, the
writer lock. Each of them waits through `sleep` or checks `raise_if_stopped`, which raise
`StopRequested` once a stop is requested; a DuckDB statement in progress is interrupted
through `interrupt_on_stop`. What was committed stays committed (the open transaction
rolls back), and nothing is retried: the Dagster side turns the request into an interrupt
of the whole run (`defs/stopping.py`).

A `cancel_scope` narrows the same waits to one group of worker threads, so the workers of a
listing that ended early stop at once without stopping the process.

Nothing here imports Dagster or the client: every layer can use it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SCOPE_POLL_S = 0.1

_requested = threading.Event()
_received: list[int] = []
_on_request: list[Callable[[], None]] = []
_lock = threading.Lock()
_scope = threading.local()


class StopRequested(BaseException):
    """The process was asked to stop. Like KeyboardInterrupt it is not an `Exception`, so
    no `except Exception` on the way up mistakes it for an error to handle or retry."""


def request_stop(signum: int | None = None) -> None:
    """Ask every wait of this process to end; `signum` is the signal that asked, if any."""
    with _lock:
        if signum is not None and not _received:
            _received.append(signum)
        first = not _requested.is_set()
        _requested.set()
        callbacks = list(_on_request) if first else []
    for callback in callbacks:
        # Best effort: the connection may have been closed since (its interrupt then fails).
        with contextlib.suppress(Exception):
            callback()


def stop_requested() -> bool:
    """Whether a stop was requested for the process or for the calling thread's scope."""
    scope: threading.Event | None = getattr(_scope, "event", None)
    return _requested.is_set() or (scope is not None and scope.is_set())


def raise_if_stopped() -> None:
    if stop_requested():
        raise StopRequested("stop requested")


def sleep(seconds: float) -> None:
    """`time.sleep` that ends early with StopRequested once a stop is requested."""
    deadline = time.monotonic() + seconds
    scope: threading.Event | None = getattr(_scope, "event", None)
    while True:
        raise_if_stopped()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if scope is None:
            _requested.wait(remaining)
        else:
            scope.wait(min(remaining, _SCOPE_POLL_S))


def exit_code() -> int | None:
    """128 + the number of the signal that asked to stop (130 SIGINT, 143 SIGTERM); else None.

    A stop requested without a signal (Dagster's own interrupt) counts as SIGINT.
    """
    if not _requested.is_set():
        return None
    return 128 + (_received[0] if _received else signal.SIGINT)


def reset() -> None:
    """Forget a stop request (for a process that goes on running syncs, e.g. the tests)."""
    with _lock:
        _requested.clear()
        _received.clear()


@contextmanager
def cancel_scope(event: threading.Event) -> Iterator[None]:
    """In the calling thread, `event` set counts as a stop request too."""
    previous = getattr(_scope, "event", None)
    _scope.event = event
    try:
        yield
    finally:
        _scope.event = previous


@contextmanager
def interrupt_on_stop(interrupt: Callable[[], None]) -> Iterator[None]:
    """Call `interrupt` (e.g. a DuckDB connection's `interrupt`) if a stop is requested
    while the block runs; at once if one already was."""
    with _lock:
        _on_request.append(interrupt)
        already = _requested.is_set()
    try:
        if already:
            interrupt()
        yield
    finally:
        with _lock:
            _on_request.remove(interrupt)


@contextmanager
def signals_request_stop(*, raise_in_main: bool) -> Iterator[list[int]]:
    """While the block runs, SIGINT and SIGTERM are recorded in the yielded list.

    With `raise_in_main` a signal also requests the stop and raises StopRequested in the
    main thread (where it arrives), like Ctrl-C's KeyboardInterrupt. Without it the signal
    is only recorded, for a main thread that watches the list and decides when to request
    the stop. The handlers in place before are restored afterwards. Only the main thread
    can install handlers; elsewhere the block runs without them.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if raise_in_main:
            request_stop(signum)
            raise StopRequested(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
