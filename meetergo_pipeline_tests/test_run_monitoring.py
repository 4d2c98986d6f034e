"""Runs that hang or lose their process end as FAILURE, and the run queue moves on.

Guarantees in docs/reliability.md. The real deployment path: a Dagster instance from a
dagster.yaml with run monitoring, the daemon, runs launched by the CLI into their own
run-worker processes, and command-line syncs recorded on the same instance.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, build_sensor_context

from meetergo_pipeline.defs.dead_runs import (
    PROCESS_TAG,
    SENSOR_INTERVAL_S,
    build_dead_run_sensor,
    process_tags,
)
from meetergo_pipeline_tests.support.cli_process import CliProcess
from meetergo_pipeline_tests.support.dagster_daemon import (
    dagster_home,
    deployment_instance_yaml,
    launch_sync,
    start_daemon,
    stop_daemon,
    wait_for,
    worker_pid,
)
from meetergo_pipeline_tests.support.duckdb_files import table_checksums
from meetergo_pipeline_tests.support.pipeline_env import PAGED, PipelineEnv, run_sync

INSTANCE_YAML = """
storage:
  sqlite:
    base_dir: {home}/storage
run_monitoring:
  enabled: true
  start_timeout_seconds: 60
  poll_interval_seconds: 1
  max_resume_run_attempts: 0
telemetry:
  enabled: false
"""
MAX_RUNTIME_S = 4
KILLED_RUN_MAX_RUNTIME_S = 15


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_hanging_api_run_is_failed_at_max_runtime(pipeline_env: PipelineEnv) -> None:
    home = dagster_home(pipeline_env.root, lambda home: INSTANCE_YAML.format(home=home))
    # The sync's first request (resolving the acting user) never gets its answer.
    pipeline_env.sim.faults.add("/v4/user/me", method="GET", times=None, delay_s=600)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    daemon = start_daemon(pipeline_env.root, env)
    try:
        launch_sync(pipeline_env.root, env, MAX_RUNTIME_S)
        with DagsterInstance.from_config(str(home)) as instance:
            [run] = instance.get_runs()
            assert wait_for(
                lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE,
                timeout_s=90,
            ), instance.get_run_by_id(run.run_id).status
            record = instance.get_run_record_by_id(run.run_id)
            messages = [entry.message for entry in instance.all_logs(run.run_id)]
    finally:
        stop_daemon(daemon)
    assert any(f"maximum runtime of {MAX_RUNTIME_S} seconds" in m for m in messages), messages
    assert record is not None and record.end_time is not None and record.start_time is not None
    assert record.end_time - record.start_time < MAX_RUNTIME_S + 30
    assert not pipeline_env.snapshot_path.exists()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_killed_run_worker_is_failed_then_retried_from_failure_to_the_clean_tables(
    pipeline_env: PipelineEnv,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the deployment's own dagster.yaml: run monitoring, run retries, one writer."""
    home = dagster_home(pipeline_env.root, deployment_instance_yaml)
    # Slow pages keep the worker inside the API step long enough to be killed there.
    pipeline_env.sim.faults.add(PAGED, method="GET", times=None, delay_s=1.0)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    daemon = start_daemon(pipeline_env.root, env)
    try:
        launch_sync(pipeline_env.root, env, KILLED_RUN_MAX_RUNTIME_S)
        with DagsterInstance.from_config(str(home)) as instance:
            [run] = instance.get_runs()

            def in_api_step() -> bool:
                messages = [entry.message or "" for entry in instance.all_logs(run.run_id)]
                return any(m.startswith("meeting types:") for m in messages)

            assert wait_for(in_api_step, timeout_s=90)
            pid = worker_pid(instance, run.run_id)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            pipeline_env.sim.faults.clear()

            def retried() -> DagsterRun | None:
                children = [r for r in instance.get_runs() if r.parent_run_id == run.run_id]
                return children[0] if children and children[0].is_finished else None

            assert wait_for(lambda: retried() is not None, timeout_s=120)
            assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
            retry = retried()
            assert retry is not None and retry.status == DagsterRunStatus.SUCCESS
            rerun_steps = {
                entry.step_key
                for entry in instance.all_logs(retry.run_id)
                if entry.dagster_event and entry.dagster_event.is_step_success
            }
    finally:
        stop_daemon(daemon)
    # The worker died inside the API step, the run's first: the retry runs it and every step
    # after it (the webhook ingest included, which had not started).
    assert rerun_steps == {
        "raw_api_tables",
        "raw__webhook_events",
        "core_tables",
        "analytics_tables",
        "analytics__published_snapshot",
    }
    after_retry = table_checksums(pipeline_env.duckdb_path)

    clean = tmp_path_factory.mktemp("clean")
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(clean / "meetergo.duckdb"))
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(clean / "meetergo_analytics.duckdb"))
    assert run_sync("full").success
    assert after_retry == table_checksums(clean / "meetergo.duckdb")


def test_the_dead_run_sensor_fails_the_writer_runs_whose_process_is_gone() -> None:
    host = socket.gethostname()
    gone_pid = 2**22 + 1  # above Linux's largest pid_max: no such process
    tags = {
        "alive": process_tags()[PROCESS_TAG],
        "gone": f"{host}:{gone_pid}:",
        "pid reused": f"{host}:{os.getpid()}:another-start",
        "other host": f"elsewhere.example:{gone_pid}:",
    }
    with DagsterInstance.ephemeral() as instance:
        runs = {}
        for name, tag in {**tags, "no process tag": None}.items():
            run_tags = {"meetergo/warehouse": "writer", **({PROCESS_TAG: tag} if tag else {})}
            runs[name] = instance.add_run(
                DagsterRun(job_name="meetergo_sync", status=DagsterRunStatus.STARTED, tags=run_tags)
            )
        build_dead_run_sensor()(build_sensor_context(instance=instance))
        statuses = {name: instance.get_run_by_id(run.run_id).status for name, run in runs.items()}
    assert statuses == {
        "alive": DagsterRunStatus.STARTED,
        "gone": DagsterRunStatus.FAILURE,
        "pid reused": DagsterRunStatus.FAILURE,
        "other host": DagsterRunStatus.STARTED,
        "no process tag": DagsterRunStatus.STARTED,
    }


def start_and_kill_a_command_line_sync(pipeline_env: PipelineEnv, env: dict[str, str]) -> str:
    """A `sync` on the instance, SIGKILLed inside its API step; returns its run id."""
    pipeline_env.sim.faults.add(PAGED, method="GET", times=None, delay_s=1.0)
    sync = CliProcess(["sync"], pipeline_env.root, env)
    try:
        assert sync.wait_for_output("meeting types:", timeout_s=120), sync.output[-3000:]
    finally:
        sync.kill()
    pipeline_env.sim.faults.clear()
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        [run] = instance.get_runs()
        assert run.status == DagsterRunStatus.STARTED  # nothing else will ever end it
        assert run.tags[PROCESS_TAG].split(":")[1] == str(sync.pid)
    return run.run_id


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_killed_command_line_sync_is_failed_by_the_next_one(pipeline_env: PipelineEnv) -> None:
    home = dagster_home(pipeline_env.root, deployment_instance_yaml)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    killed = start_and_kill_a_command_line_sync(pipeline_env, env)

    after = CliProcess(["sync"], pipeline_env.root, env)
    assert after.wait(timeout_s=180) == 0, after.output[-3000:]
    assert f"run {killed} had lost its process: marked failed" in after.output
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(killed).status == DagsterRunStatus.FAILURE
        messages = [entry.message or "" for entry in instance.all_logs(killed)]
        assert any("is gone (killed, or its machine went down)" in m for m in messages)
        statuses = [run.status for run in instance.get_runs() if run.run_id != killed]
    assert statuses == [DagsterRunStatus.SUCCESS]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_daemon_fails_a_killed_command_line_sync_and_the_queue_moves_on(
    pipeline_env: PipelineEnv,
) -> None:
    home = dagster_home(pipeline_env.root, deployment_instance_yaml)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    killed = start_and_kill_a_command_line_sync(pipeline_env, env)

    daemon = start_daemon(pipeline_env.root, env)
    try:
        launch_sync(pipeline_env.root, env)
        with DagsterInstance.from_config(str(home)) as instance:
            [queued] = [run for run in instance.get_runs() if run.run_id != killed]

            def finished() -> bool:
                return instance.get_run_by_id(queued.run_id).is_finished

            assert wait_for(finished, timeout_s=SENSOR_INTERVAL_S + 150)
            assert instance.get_run_by_id(queued.run_id).status == DagsterRunStatus.SUCCESS
            assert instance.get_run_by_id(killed).status == DagsterRunStatus.FAILURE
    finally:
        stop_daemon(daemon)
