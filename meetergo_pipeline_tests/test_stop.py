"""SIGINT and SIGTERM end a sync within seconds: committed rows kept, no step retried.

One of the guarantees in docs/reliability.md. The syncs run as a user runs them, as
`meetergo-pipeline` child processes against a rate-limited simulator, with a rate budget so
small that the workers spend their time waiting on it when the signal arrives.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from meetergo_pipeline import stop
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.warehouse.writer_lock import writer_lock
from meetergo_pipeline_tests.support.cli_process import CliProcess
from meetergo_pipeline_tests.support.dagster_daemon import dagster_home, step_events
from meetergo_pipeline_tests.support.duckdb_files import query
from meetergo_pipeline_tests.support.pipeline_env import (
    PAGED,
    PipelineEnv,
    run_sync,
    use_pipeline_env,
)

STOP_WITHIN_S = 10.0
INSTANCE_YAML = "storage:\n  sqlite:\n    base_dir: {home}/storage\ntelemetry:\n  enabled: false\n"
# The key's limit as the simulator enforces it; the pipeline's budget is half of it:
# 10 requests at once, then one a second shared by all workers.
KEY_LIMIT = {"MEETERGO_API_RATE_LIMIT_PER_MINUTE": "120", "MEETERGO_API_RATE_LIMIT_BURST": "20"}


@pytest.fixture
def throttled_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PipelineEnv]:
    config = SimulatorConfig(
        seed=21,
        users=12,
        appointments=900,
        rate_limit_enabled=True,
        rate_limit_per_minute=120,
        rate_limit_burst=20,
    )
    with SimulatorServer(config, port=0) as sim:
        env = use_pipeline_env(PipelineEnv(sim, tmp_path), monkeypatch)
        for name, value in KEY_LIMIT.items():
            monkeypatch.setenv(name, value)
        # A retry would start the API step over at once: any retry shows in the event log.
        monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
        monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
        monkeypatch.setenv("MEETERGO_SYNC_COMMIT_EVERY_ROWS", "1")  # commit at every user
        yield env


def completed_users_are_fully_stored(env: PipelineEnv) -> int:
    """Assert every user with a high-water mark has all its bookings stored; returns how many.

    A user's mark commits with that user's last rows, so each mark stands for a complete
    listing: the working file must hold every one of those bookings.
    """
    marks = query(
        env.duckdb_path,
        "SELECT replace(state_key, 'appointments_hwm/', '') FROM raw.sync_state "
        "WHERE starts_with(state_key, 'appointments_hwm/')",
    )
    stored = {
        row[0] for row in query(env.duckdb_path, "SELECT appointment_id FROM raw.appointments")
    }
    for (user_id,) in marks:
        missing = set(env.sim.tenant.appointment_ids_for_user(user_id)) - stored
        assert not missing, f"user {user_id} has a mark but {len(missing)} bookings are missing"
    return len(marks)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_sync_waiting_on_the_budget_within_seconds(
    throttled_env: PipelineEnv, signum: signal.Signals
) -> None:
    env = throttled_env
    home = dagster_home(env.root, lambda home: INSTANCE_YAML.format(home=home))
    sync = CliProcess(
        ["sync", "--mode", "full"], env.root, {**os.environ, "DAGSTER_HOME": str(home)}
    )
    try:
        assert sync.wait_for_output("meeting types:", timeout_s=90), sync.output[-3000:]
        time.sleep(4)  # a few users' listings complete and commit; the rest wait on the budget
        signalled = time.monotonic()
        sync.process.send_signal(signum)
        code = sync.wait(timeout_s=60)
        elapsed = time.monotonic() - signalled
    finally:
        sync.kill()
    assert code == 128 + signum, sync.output[-3000:]
    assert elapsed < STOP_WITHIN_S, f"stopped {elapsed:.1f} s after {signum.name}"
    assert f"sync stopped by {signum.name}" in sync.output
    # Committed rows are intact: some users completed, each completely; the run never finished.
    assert completed_users_are_fully_stored(env) >= 1
    assert query(env.duckdb_path, "SELECT count(*) FROM raw.sync_runs") == [(0,)]
    assert not env.snapshot_path.exists()
    with writer_lock(env.duckdb_path, wait_s=0):
        pass  # the writer lock went with the process
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == DagsterRunStatus.CANCELED
        assert step_events(instance, run.run_id, DagsterEventType.STEP_UP_FOR_RETRY) == []
        assert step_events(instance, run.run_id, DagsterEventType.STEP_RESTARTED) == []
        started = step_events(instance, run.run_id, DagsterEventType.STEP_START)
        assert "raw_api_tables" in started
        assert "core_tables" not in started  # the run ended at the stop


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_ctrl_c_on_run_stops_the_sync_and_its_simulator(tmp_path: Path) -> None:
    """`run` on the embedded default: Ctrl-C reaches the sync and the simulator child alike."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETERGO_")}
    env["MEETERGO_API_BUDGET_SHARE"] = (
        "0.1"  # of the simulated live limit: 20 at once, then 1 / 6 s
    )
    run = CliProcess(
        ["run", "--users", "12", "--appointments", "900"], tmp_path, env, new_session=True
    )
    try:
        assert run.wait_for_output("meeting types:", timeout_s=120), run.output[-3000:]
        signalled = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
        code = run.wait(timeout_s=60)
        elapsed = time.monotonic() - signalled
        group_gone = _wait_until_group_gone(run.pid, timeout_s=15)
    finally:
        run.kill()
        if not _wait_until_group_gone(run.pid, timeout_s=0):
            os.killpg(run.pid, signal.SIGKILL)
    assert code == 130, run.output[-3000:]
    assert elapsed < STOP_WITHIN_S, f"stopped {elapsed:.1f} s after Ctrl-C"
    assert group_gone, "the simulator child outlived the run"


def _wait_until_group_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def test_a_stop_request_ends_the_run_at_once_without_a_step_retry(
    throttled_env: PipelineEnv,
) -> None:
    """In process: Dagster's step retry policy must not turn the stop into a retry."""
    env = throttled_env
    # The stop is requested while the first appointment pages are read: the workers are
    # then waiting on the budget.
    env.sim.faults.on_request(PAGED, None, lambda: stop.request_stop(signal.SIGTERM))
    try:
        result = run_sync("full")
        stopped_at = time.time()
    finally:
        stop.reset()
    assert not result.success
    event_types = [event.event_type for event in result.all_events]
    assert DagsterEventType.STEP_UP_FOR_RETRY not in event_types
    assert DagsterEventType.STEP_RESTARTED not in event_types
    [failed] = [
        e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE
    ]
    assert failed == "raw_api_tables"
    core = [e for e in result.all_events if e.step_key == "core_tables"]
    assert core == []  # the run ended at the stop: no later step started
    [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE]
    assert "interrupted" in (failure.message or "")
    pages = env.sim.stats.requests_for(PAGED)
    assert stopped_at - pages[0].at < STOP_WITHIN_S
    assert len(pages) <= 4  # requests already on their way (one per worker); nothing after
    assert query(env.duckdb_path, "SELECT count(*) FROM raw.sync_runs") == [(0,)]
