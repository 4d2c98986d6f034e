"""A stop request ends the whole run at once, and is never retried.

Dagster turns an interrupt (KeyboardInterrupt, `DagsterExecutionInterruptedError`) raised
inside a step into a retry when the step has a RetryPolicy, as every step of our jobs has:
a Ctrl-C or SIGTERM would start the API step over after the retry delay. `RunStopped` is
raised instead. Being a `DagsterError`, it passes the step's error boundary unchanged (no
retry); being a `DagsterExecutionInterruptedError`, the executor then ends the run as
interrupted, without running the remaining steps. `test_stop.py` fails if a Dagster release
changes either half.

`execute_until_done_or_stopped` is how the command line runs a job so that SIGINT and
SIGTERM become such stop requests.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster import (
    DagsterError,
    DagsterExecutionInterruptedError,
    DagsterInstance,
    DagsterRunStatus,
    ExecuteInProcessResult,
)

from meetergo_pipeline import stop

STOP_GRACE_S = 8.0


class RunStopped(DagsterExecutionInterruptedError, DagsterError):
    """The run was asked to stop: committed rows stay, the rest of the run does not run."""


@contextmanager
def stop_ends_run() -> Iterator[None]:
    """Turn a stop request or an interrupt reaching the block into `RunStopped`.

    A stop requested before the block starts raises at once. An interrupt from Dagster
    (a termination of a launched run) becomes a process-wide stop request, so worker
    threads and waits elsewhere in the process end too. Any other error raised while a
    stop is requested (e.g. DuckDB's "interrupted", a request on a client being closed) is
    a consequence of the stop and reported as one.
    """
    if stop.stop_requested():
        raise RunStopped("the run was asked to stop")
    try:
        yield
    except RunStopped:
        raise
    except (stop.StopRequested, KeyboardInterrupt, DagsterExecutionInterruptedError) as exc:
        stop.request_stop()
        raise RunStopped("the run was asked to stop") from exc
    except Exception as exc:
        if stop.stop_requested():
            raise RunStopped("the run was asked to stop") from exc
        raise


def execute_until_done_or_stopped(
    execute: Callable[[], ExecuteInProcessResult], instance: DagsterInstance, run_id: str
) -> ExecuteInProcessResult:
    """Run `execute` (an in-process execution of the run `run_id`) on a worker thread while
    this, the main thread, takes SIGINT and SIGTERM: Dagster then never sees the signal, so
    it cannot turn it into a retry, and the main thread stays free to act on it.

    The first signal marks the run canceling and requests the stop; the run then ends as
    canceled (`RunStopped` in the step that was running).

    A run that has not ended `STOP_GRACE_S` after the stop request (a statement or a request
    that cannot be interrupted) is recorded as canceled and the process exits at once with
    the signal's exit code: committed rows are durable in DuckDB's log, the open transaction
    is discarded, and the writer lock goes with the process.
    """
    outcome: list[ExecuteInProcessResult | BaseException] = []

    def target() -> None:
        try:
            outcome.append(execute())
        except BaseException as exc:  # re-raised on the main thread
            outcome.append(exc)

    worker = threading.Thread(target=target, name="meetergo-sync", daemon=True)
    with stop.signals_request_stop(raise_in_main=False) as received:
        worker.start()
        deadline: float | None = None
        while worker.is_alive():
            worker.join(0.1)
            if received and deadline is None:
                name = signal.Signals(received[0]).name
                print(f"\n{name}: stopping the sync; committed rows are kept", file=sys.stderr)
                _report(instance, run_id, instance.report_run_canceling, f"{name} received")
                stop.request_stop(received[0])
                deadline = time.monotonic() + STOP_GRACE_S
            elif deadline is not None and worker.is_alive() and time.monotonic() > deadline:
                message = f"the run did not end within {STOP_GRACE_S:g} s of the stop request"
                _report(instance, run_id, instance.report_run_canceled, message)
                print(f"{message}: exiting now", file=sys.stderr)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(stop.exit_code() or 1)
    _end_canceling(instance, run_id)
    [result] = outcome
    if isinstance(result, BaseException):
        raise result
    return result


def _report(
    instance: DagsterInstance, run_id: str, report: Callable[..., object], message: str
) -> None:
    """`report(run, message)` for the run if it exists and has not finished."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        report(run, message)


def _end_canceling(instance: DagsterInstance, run_id: str) -> None:
    """A run still marked canceling once its execution returned ended with the stop."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status == DagsterRunStatus.CANCELING:
        instance.report_run_canceled(run, "stopped on request")
