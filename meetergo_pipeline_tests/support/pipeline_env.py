"""One pipeline installation in a temporary folder, pointed at a simulator, and its sync job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, ExecuteInProcessResult

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, sync_config
from meetergo_pipeline.simulator import SimulatorServer

PAGED = "/v4/appointment/paginated"  # the appointment listing, where most faults are armed


@dataclass
class PipelineEnv:
    """Paths and variables of one pipeline installation in a temporary folder."""

    sim: SimulatorServer
    root: Path

    @property
    def duckdb_path(self) -> Path:
        return self.root / "meetergo.duckdb"

    @property
    def snapshot_path(self) -> Path:
        return self.root / "meetergo_analytics.duckdb"

    @property
    def webhook_dir(self) -> Path:
        return self.root / "webhooks"

    def variables(self) -> dict[str, str]:
        return {
            "MEETERGO_API_KEY": self.sim.api_key,
            "MEETERGO_API_BASE_URL": self.sim.base_url,
            "MEETERGO_DUCKDB_PATH": str(self.duckdb_path),
            "MEETERGO_SNAPSHOT_PATH": str(self.snapshot_path),
            "MEETERGO_WEBHOOK_LOG_DIR": str(self.webhook_dir),
            "MEETERGO_API_BUDGET_DIR": str(self.root / "api_budget"),
            "MEETERGO_STEP_RETRIES": "0",
            # The test simulators run unthrottled; so may the client's budget.
            "MEETERGO_API_RATE_LIMIT_PER_MINUTE": "1000000",
            "MEETERGO_API_RATE_LIMIT_BURST": "1000000",
        }


def use_pipeline_env(env: PipelineEnv, monkeypatch: pytest.MonkeyPatch) -> PipelineEnv:
    """Set `env`'s variables for the test (undone by `monkeypatch` afterwards)."""
    for name, value in env.variables().items():
        monkeypatch.setenv(name, value)
    return env


def run_sync(
    mode: str = "incremental", instance: DagsterInstance | None = None
) -> ExecuteInProcessResult:
    """The sync job in process, with the settings of the environment, on `instance` (default:
    an ephemeral one)."""
    job = build_definitions().resolve_job_def(SYNC_JOB)
    return job.execute_in_process(
        run_config=sync_config(mode),
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
