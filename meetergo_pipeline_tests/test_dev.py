"""`meetergo-pipeline dev` (`make dev`) on a fresh clone: no API key, nothing configured.

The command is started as a user starts it, from a project folder, and driven through the
webserver's GraphQL API as the UI drives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from meetergo_pipeline.defs.jobs import SYNC_JOB, sync_config
from meetergo_pipeline_tests.support.duckdb_files import query

SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"
PROJECT = Path(__file__).parents[1]
LOCATION = "meetergo_pipeline"
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
STATE_QUERY = """
query ($repository: RepositorySelector!) {
  workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } }
  schedulesOrError(repositorySelector: $repository) {
    ... on Schedules { results { name scheduleState { status } } }
  }
  sensorsOrError(repositorySelector: $repository) {
    ... on Sensors { results { name sensorState { status } } }
  }
  runsOrError { ... on Runs { results { runId jobName status } } }
}
"""
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
T = TypeVar("T")


def fresh_environment() -> dict[str, str]:
    """The environment of a fresh clone: no MEETERGO_* variable, no DAGSTER_HOME."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MEETERGO_") and name != "DAGSTER_HOME"
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(get: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = get()
        except Exception:  # the webserver is still starting: no answer, or not the full one
            value = None
        if value is not None:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as `make dev` runs in: workspace.yaml, and `data/` created by the run."""
    shutil.copy(PROJECT / "workspace.yaml", tmp_path / "workspace.yaml")
    return tmp_path


@pytest.fixture
def dev_ui(project: Path) -> Iterator[tuple[DagsterGraphQLClient, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (project / "dev.log").open("wb")
    process = subprocess.Popen(
        [str(SCRIPT), "dev", "--port", str(port), "--users", "3", "--appointments", "200"],
        cwd=project,
        env=fresh_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def state(client: DagsterGraphQLClient) -> dict[str, Any] | None:
    """The workspace, schedules, sensors and runs, once the code location has loaded."""
    answer = client._execute(STATE_QUERY, {"repository": REPOSITORY})
    [entry] = answer["workspaceOrError"]["locationEntries"]
    return (
        answer if entry["loadStatus"] == "LOADED" and "results" in answer["runsOrError"] else None
    )


def finished_status(client: DagsterGraphQLClient, run_id: str) -> DagsterRunStatus | None:
    status = client.get_run_status(run_id)
    return status if status in FINISHED else None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dev_on_a_fresh_clone_shows_past_runs_and_materializes_everything(
    project: Path, dev_ui: tuple[DagsterGraphQLClient, subprocess.Popen[bytes]]
) -> None:
    client, process = dev_ui
    # `make run` first, while the UI starts: its run is recorded where the UI looks.
    made = subprocess.run(
        [str(SCRIPT), "run", "--users", "3", "--appointments", "200"],
        cwd=project,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert made.returncode == 0, made.stderr[-3000:]

    def loaded_state() -> dict[str, Any] | None:
        assert process.poll() is None, (project / "dev.log").read_text()[-4000:]
        return state(client)

    loaded = wait_for(loaded_state, 400, "the code location to load")
    schedules = loaded["schedulesOrError"]["results"]
    assert {s["name"]: s["scheduleState"]["status"] for s in schedules} == {
        "meetergo_hourly_incremental": "STOPPED",
        "meetergo_daily_full_sweep": "STOPPED",
    }
    sensors = loaded["sensorsOrError"]["results"]
    # The webhook sensor starts off with the automation; the dead-run sensor is always on.
    assert {s["name"]: s["sensorState"]["status"] for s in sensors} == {
        "meetergo_webhook_log": "STOPPED",
        "meetergo_dead_runs": "RUNNING",
    }
    [earlier] = loaded["runsOrError"]["results"]
    assert (earlier["jobName"], earlier["status"]) == (SYNC_JOB, "SUCCESS")

    run_id = client.submit_job_execution(
        SYNC_JOB,
        repository_location_name=LOCATION,
        repository_name="__repository__",
        run_config=sync_config("incremental"),
    )
    finished = wait_for(
        lambda: finished_status(client, run_id), 400, "the sync launched from the UI to finish"
    )
    assert finished == DagsterRunStatus.SUCCESS, (project / "dev.log").read_text()[-4000:]
    [(appointments,)] = query(
        project / "data" / "meetergo_analytics.duckdb", "SELECT count(*) FROM core.appointments"
    )
    assert appointments >= 200  # the live simulator keeps booking
    # The live simulator's bookings reach the registered receiver's log.
    webhook_log = project / "data" / "webhooks"
    assert wait_for(lambda: list(webhook_log.glob("events-*.jsonl")) or None, 60, "a delivery")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    with DagsterInstance.from_config(str(project / "data" / "dagster_home")) as instance:
        assert {run.run_id for run in instance.get_runs()} == {earlier["runId"], run_id}
