"""G4: a run whose API hangs is ended by `dagster/max_runtime` with a FAILURE, via the daemon.

The real deployment path: a Dagster instance from a dagster.yaml with run monitoring, the
daemon, and a run launched by the CLI into its own run-worker process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from meetergo_pipeline_tests.conftest import PipelineEnv

BIN = Path(sys.executable).parent
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


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.timeout(180)
def test_a_hanging_api_run_is_failed_at_max_runtime(pipeline_env: PipelineEnv) -> None:
    home = pipeline_env.root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML.format(home=home))
    # Create the instance's SQLite storage once, before the daemon and the CLI race to.
    DagsterInstance.from_config(str(home)).dispose()
    # The sync's first request (resolving the acting user) never gets its answer.
    pipeline_env.sim.faults.add("/v4/user/me", method="GET", times=None, delay_s=600)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    target = ["-m", "meetergo_pipeline.definitions", "-a", "defs"]
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *target],
        cwd=pipeline_env.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        launched = subprocess.run(
            [
                str(BIN / "dagster"),
                "job",
                "launch",
                *target,
                "-j",
                "meetergo_sync",
                "--tags",
                json.dumps({"dagster/max_runtime": str(MAX_RUNTIME_S)}),
            ],
            cwd=pipeline_env.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert launched.returncode == 0, launched.stderr[-2000:]
        with DagsterInstance.from_config(str(home)) as instance:
            [run] = instance.get_runs()
            assert wait_for(
                lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE,
                timeout_s=90,
            ), instance.get_run_by_id(run.run_id).status
            record = instance.get_run_record_by_id(run.run_id)
            messages = [entry.message for entry in instance.all_logs(run.run_id)]
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    assert any(f"maximum runtime of {MAX_RUNTIME_S} seconds" in m for m in messages), messages
    assert record is not None and record.end_time is not None and record.start_time is not None
    assert record.end_time - record.start_time < MAX_RUNTIME_S + 30
    assert not pipeline_env.snapshot_path.exists()
