"""One writer of the working file: other runs wait their turn, an analyst holding the file
neither corrupts nor hangs the sync.

Guarantees in docs/reliability.md.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from meetergo_pipeline.warehouse.connection import WarehouseLockedError, connect_writer
from meetergo_pipeline.warehouse.publish import published_tables
from meetergo_pipeline.warehouse.writer_lock import WarehouseBusyError, writer_lock
from meetergo_pipeline_tests.support.cli_process import CliProcess
from meetergo_pipeline_tests.support.dagster_daemon import (
    dagster_home,
    deployment_instance_yaml,
    launch_sync,
    start_daemon,
    stop_daemon,
    wait_for,
)
from meetergo_pipeline_tests.support.duckdb_files import query
from meetergo_pipeline_tests.support.pipeline_env import PAGED, PipelineEnv


@pytest.mark.slow
def test_held_lock_is_retried_with_backoff_then_reported_with_the_pid(tmp_path: Path) -> None:
    working = tmp_path / "meetergo.duckdb"
    duckdb.connect(str(working)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(working)!r}); print('held', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waits: list[float] = []
        with pytest.raises(WarehouseLockedError) as raised:
            connect_writer(working, attempts=4, sleep=waits.append)
        assert waits == [0.25, 0.5, 1.0]
        message = str(raised.value)
        assert str(holder.pid) in message
        assert "MEETERGO_SNAPSHOT_PATH" in message
    finally:
        holder.kill()
        holder.wait()
    connect_writer(working).close()  # free again once the holder is gone


def test_the_writer_lock_is_waited_for_then_refused_naming_its_holder(tmp_path: Path) -> None:
    working = tmp_path / "meetergo.duckdb"
    announced: list[str] = []
    with writer_lock(working, wait_s=0, run_id="first-run"):
        started = time.monotonic()
        with (
            pytest.raises(WarehouseBusyError) as refused,
            writer_lock(working, wait_s=0.5, announce=announced.append),
        ):
            pass
        waited = time.monotonic() - started
    holder = f"pid {os.getpid()} on {socket.gethostname()} since "
    assert 0.5 <= waited < 2
    assert [line.split(holder)[0] for line in announced] == [
        "waiting up to 0.5 s for the warehouse's writer: "
    ]
    assert holder in str(refused.value) and ", run first-run; waited 0.5 s" in str(refused.value)
    # Released with its holder, and taken by a waiter as soon as it is.
    release = threading.Event()

    def hold() -> None:
        with writer_lock(working, wait_s=0):
            release.wait()

    holder_thread = threading.Thread(target=hold)
    holder_thread.start()
    threading.Timer(0.5, release.set).start()
    time.sleep(0.1)
    with writer_lock(working, wait_s=10, announce=announced.append):
        assert release.is_set()
    holder_thread.join()


def snapshot_reader(snapshot: Path, appointments: int, done: threading.Event) -> dict[str, int]:
    """Open the snapshot over and over until `done`, as analysts do; count complete and
    incomplete reads (a missing table, or fewer appointments than the tenant has)."""
    counts = {"complete": 0, "incomplete": 0}

    def read() -> None:
        while not done.is_set():
            if snapshot.exists():
                try:
                    tables = set(
                        row[0]
                        for row in query(
                            snapshot, "SELECT schema_name || '.' || table_name FROM duckdb_tables()"
                        )
                    )
                    rows = query(snapshot, "SELECT count(*) FROM core.appointments")[0][0]
                    complete = tables == set(published_tables()) and rows == appointments
                except duckdb.Error:
                    complete = False
                counts["complete" if complete else "incomplete"] += 1
            time.sleep(0.05)

    threading.Thread(target=read, daemon=True).start()
    return counts


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_concurrent_syncs_take_turns_as_the_one_writer_and_every_snapshot_is_complete(
    pipeline_env: PipelineEnv,
) -> None:
    """Three command-line syncs at once on one working file, with the project's instance."""
    home = dagster_home(pipeline_env.root, deployment_instance_yaml)
    pipeline_env.sim.faults.add(PAGED, method="GET", times=None, delay_s=0.2)  # a few s each
    env = {**os.environ, "DAGSTER_HOME": str(home), "MEETERGO_WRITER_LOCK_WAIT_S": "240"}
    done = threading.Event()
    reads = snapshot_reader(
        pipeline_env.snapshot_path, pipeline_env.sim.tenant.truth().appointment_count, done
    )
    syncs = [CliProcess(["sync", "--mode", "full"], pipeline_env.root, env) for _ in range(3)]
    try:
        codes = [sync.wait(timeout_s=240) for sync in syncs]
    finally:
        done.set()
        for sync in syncs:
            sync.kill()
    assert codes == [0, 0, 0], [sync.output[-2000:] for sync in syncs]
    waited = [
        sync for sync in syncs if "waiting up to 240 s for the warehouse's writer" in sync.output
    ]
    assert len(waited) == 2
    assert reads["incomplete"] == 0 and reads["complete"] > 0, reads
    with DagsterInstance.from_config(str(home)) as instance:
        spans = sorted(steps_span(instance, run.run_id) for run in instance.get_runs())
    assert len(spans) == 3
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start, "two runs wrote the warehouse at the same time"


def steps_span(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """From the run's first step start to its last step end: when it writes the warehouse."""
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    times = [
        entry.timestamp for entry in instance.all_logs(run_id) if entry.dagster_event_type in kinds
    ]
    return min(times), max(times)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_sync_that_may_not_wait_exits_naming_the_writer(pipeline_env: PipelineEnv) -> None:
    pipeline_env.sim.faults.add(PAGED, method="GET", times=None, delay_s=0.5)
    env = dict(os.environ)
    first = CliProcess(["sync", "--mode", "full"], pipeline_env.root, env)
    try:
        assert first.wait_for_output("meeting types:", timeout_s=120), first.output[-3000:]
        second = CliProcess(
            ["sync"], pipeline_env.root, {**env, "MEETERGO_WRITER_LOCK_WAIT_S": "0"}
        )
        assert second.wait(timeout_s=120) == 1
        pipeline_env.sim.faults.clear()
        assert first.wait(timeout_s=120) == 0, first.output[-3000:]
    finally:
        first.kill()
    assert f"another run is writing meetergo.duckdb: pid {first.pid} on " in second.output
    assert "MEETERGO_WRITER_LOCK_WAIT_S sets how long a run waits" in second.output
    assert "sync FAILED" in second.output


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_a_schedule_tick_during_a_running_sync_waits_in_the_run_queue(
    pipeline_env: PipelineEnv,
) -> None:
    """The daemon with the project's dagster.yaml: a tick's run queues behind the writer."""
    home = dagster_home(pipeline_env.root, deployment_instance_yaml)
    # The first sync keeps failing to list users and retrying its step until released.
    pipeline_env.sim.faults.add("/v4/user", method="GET", times=None, status=503)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MEETERGO_SYNC_CRON": "* * * * *",
        "MEETERGO_STEP_RETRIES": "8",
        "MEETERGO_STEP_RETRY_DELAY_S": "1",
    }
    daemon = start_daemon(pipeline_env.root, env)
    try:
        launch_sync(pipeline_env.root, env)
        with DagsterInstance.from_config(str(home)) as instance:
            [first] = instance.get_runs()

            def status(run_id: str) -> DagsterRunStatus:
                return instance.get_run_by_id(run_id).status  # type: ignore[union-attr]

            def tick_runs() -> list[str]:
                return [
                    run.run_id
                    for run in instance.get_runs()
                    if run.tags.get("dagster/schedule_name") == "meetergo_hourly_incremental"
                ]

            assert wait_for(lambda: status(first.run_id) == DagsterRunStatus.STARTED, 120)
            assert wait_for(tick_runs, timeout_s=150)  # the next minute's tick, plus latency
            tick = tick_runs()[0]
            time.sleep(3)  # the queue daemon has had its chance to launch it
            assert status(tick) == DagsterRunStatus.QUEUED
            assert status(first.run_id) == DagsterRunStatus.STARTED

            pipeline_env.sim.faults.clear()
            finished = DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE
            assert wait_for(lambda: status(tick) in finished, timeout_s=240)
            assert status(first.run_id) == status(tick) == DagsterRunStatus.SUCCESS
            first_record = instance.get_run_record_by_id(first.run_id)
            tick_record = instance.get_run_record_by_id(tick)
    finally:
        stop_daemon(daemon)
    assert first_record is not None and tick_record is not None
    assert first_record.end_time is not None and tick_record.start_time is not None
    assert tick_record.start_time >= first_record.end_time
