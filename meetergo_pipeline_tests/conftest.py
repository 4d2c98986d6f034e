"""Shared fixtures: a simulator on loopback and a pipeline environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, use_pipeline_env


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
