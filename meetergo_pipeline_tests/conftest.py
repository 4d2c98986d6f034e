"""Shared fixtures: a simulator on loopback, a pipeline environment pointing at it, and a
PostgreSQL server on loopback for the Postgres Dagster instance, and a raw working file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, use_pipeline_env
from meetergo_pipeline_tests.support.postgres import (
    PostgresServer,
    ensure_binaries,
    start_postgres,
)
from meetergo_pipeline_tests.support.raw_rows import open_raw_db


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session; skips only when it cannot be installed."""
    bin_dir = ensure_binaries()
    if isinstance(bin_dir, str):
        pytest.skip(bin_dir)
    server = start_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database of its own for the test."""
    return postgres_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A working DuckDB file with the raw schema, for tests that load rows by hand."""
    connection = open_raw_db(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()
