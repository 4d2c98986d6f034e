"""Writer runs whose process is gone are failed, so the one-writer run queue moves on.

The run queue (dagster.yaml) admits one run tagged `meetergo/warehouse` at a time, and it
counts every run in progress, including a command-line sync's run on a persistent instance
(`DAGSTER_HOME`). Dagster's run monitoring only watches runs a run launcher started: a
command-line sync that was SIGKILLed (or whose machine went down) would stay STARTED and hold
the queue until its `dagster/max_runtime`. So a command-line run records the process running
it in its tags (`PROCESS_TAG`: host, pid and the process's start time, so a reused pid is not
taken for it), and `fail_dead_runs` fails every writer run in progress whose recorded process
on this host no longer exists. The CLI calls it before each sync; the `meetergo_dead_runs`
sensor calls it every minute in the daemon.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from meetergo_pipeline.defs.jobs import WRITER_TAG, WRITER_TAGS
from meetergo_pipeline.processes import process_exists

PROCESS_TAG = "meetergo/process"
IN_PROGRESS = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
SENSOR_INTERVAL_S = 60


def process_tags() -> dict[str, str]:
    """The tag naming this process, for the runs it executes itself."""
    return {PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or ''}"}


def recorded_process_gone(tag: str) -> bool:
    """Whether the process a `PROCESS_TAG` names has ended (False if it runs on another host)."""
    parts = tag.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or parts[0] != socket.gethostname():
        return False
    pid, started = int(parts[1]), parts[2]
    if not process_exists(pid):
        return True
    return bool(started) and _started(pid) not in (None, started)


def fail_dead_runs(instance: DagsterInstance) -> list[str]:
    """Fail (or, when being canceled, cancel) every writer run in progress whose recorded
    process is gone; returns their run ids."""
    writers = {WRITER_TAG: WRITER_TAGS[WRITER_TAG]}
    runs = instance.get_runs(RunsFilter(statuses=IN_PROGRESS, tags=writers))
    failed = []
    for run in runs:
        tag = run.tags.get(PROCESS_TAG)
        if tag is None or not recorded_process_gone(tag):
            continue
        message = (
            f"The process running this run ({tag}) is gone (killed, or its machine went down): "
            "the run is ended so the next warehouse writer can start. Rows it committed are "
            "kept; the next sync reads the rest."
        )
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
        failed.append(run.run_id)
    return failed


def build_dead_run_sensor():
    @sensor(
        name="meetergo_dead_runs",
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description="Fails warehouse-writer runs whose command-line process is gone, so the "
        "one-writer run queue moves on.",
    )
    def dead_run_sensor(context: SensorEvaluationContext):
        failed = fail_dead_runs(context.instance)
        if failed:
            return SkipReason(f"failed runs whose process is gone: {', '.join(failed)}")
        return SkipReason("no writer run has lost its process")

    return dead_run_sensor


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), with the boot's id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # Field 22 (starttime), counted after the command name, which may contain spaces.
    return f"{boot}-{stat.rsplit(')', 1)[1].split()[19]}"
