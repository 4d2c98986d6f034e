"""A stop request inside a step ends the whole run at once, and is never retried.

Dagster turns an interrupt (KeyboardInterrupt, `DagsterExecutionInterruptedError`) raised
inside a step into a retry when the step has a RetryPolicy, as every step of our jobs has:
a Ctrl-C or SIGTERM would start the API step over after the retry delay. `RunStopped` is
raised instead. Being a `DagsterError`, it passes the step's error boundary unchanged (no
retry); being a `DagsterExecutionInterruptedError`, the executor then ends the run as
interrupted, without running the remaining steps. `test_stop.py` fails if a Dagster release
changes either half.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import DagsterError, DagsterExecutionInterruptedError

from meetergo_pipeline import stop


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
