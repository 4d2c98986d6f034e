"""Shared fixtures: a simulator on loopback and a pipeline environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer


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


@pytest.fixture
def small_simulator() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=11, users=5, appointments=700, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as server:
        yield server


@pytest.fixture
def pipeline_env(
    small_simulator: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PipelineEnv:
    return use_pipeline_env(PipelineEnv(small_simulator, tmp_path), monkeypatch)


def use_pipeline_env(env: PipelineEnv, monkeypatch: pytest.MonkeyPatch) -> PipelineEnv:
    for name, value in env.variables().items():
        monkeypatch.setenv(name, value)
    return env
