"""The console logger of a run started from the command line.

Dagster's own console logger prints every failed step, and the run's failure, with the whole
traceback. On the command line the run summary names each failed step in one line instead,
so this logger shows progress and warnings (INFO and WARNING), and a step that will be
retried, one line each (the step and its message), and leaves the ERROR records out;
`--verbose` keeps Dagster's logger as it is.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from dagster import DagsterEventType, InitLoggerContext, LoggerDefinition, logger

LINE_FORMAT = "%(asctime)s %(levelname)s %(source)s: %(text)s"


def _meta(record: logging.LogRecord) -> dict[str, Any]:
    """The step, message and event Dagster attaches to its records ({} on other records)."""
    return getattr(record, "dagster_meta", None) or {}


def _retry_line(event: Any) -> str | None:
    """`failed, retrying in N s: <error>` for a step that is up for retry, else None."""
    if event is None or event.event_type != DagsterEventType.STEP_UP_FOR_RETRY:
        return None
    data = event.event_specific_data
    error = getattr(data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    reason = error.message.strip().splitlines()[0] if error is not None else "failed"
    wait = getattr(data, "seconds_to_wait", None)
    return f"failed, retrying{f' in {wait:.0f} s' if wait else ''}: {reason}"


class _StepLineFormatter(logging.Formatter):
    """`time LEVEL step: message`."""

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT, datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        meta = _meta(record)
        record.source = meta.get("step_key") or meta.get("job_name") or record.name
        retry = _retry_line(meta.get("dagster_event"))
        record.text = retry or meta.get("orig_message") or record.getMessage()
        if retry:
            record.levelname = "WARNING"
        return super().format(record)


def _shown(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.ERROR:
        return False
    return (
        record.levelno >= logging.INFO
        or _retry_line(_meta(record).get("dagster_event")) is not None
    )


@logger(None, "Progress, warnings and step retries, one line each; failures in the summary.")
def step_lines_console_logger(init_context: InitLoggerContext) -> logging.Logger:
    line_logger = logging.Logger("meetergo_pipeline.run", level=logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StepLineFormatter())
    handler.addFilter(_shown)
    line_logger.addHandler(handler)
    return line_logger


def command_line_loggers() -> dict[str, LoggerDefinition]:
    """The loggers of a job run from the command line (replacing Dagster's console logger)."""
    return {"console": step_lines_console_logger}
