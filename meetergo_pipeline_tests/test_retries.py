"""An API outage costs at most the documented number of requests, then fails the run.

One of the guarantees in docs/reliability.md.
"""

from __future__ import annotations

import pytest
from dagster import DagsterEventType

from meetergo_pipeline.client import http
from meetergo_pipeline.run_sync import step_failures
from meetergo_pipeline_tests.support.duckdb_files import query
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync

HTTP_ATTEMPTS = 6  # MeetergoHTTP.max_attempts, as the README states it


def test_an_outage_costs_attempts_times_step_attempts_and_fails_the_run(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "1")
    monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
    # The client's waits between attempts (1 s floor, doubling) only cost the test time.
    monkeypatch.setattr(http, "backoff_seconds", lambda attempt: 0.0)
    sim = pipeline_env.sim
    sim.faults.add("/v4/user", method="GET", times=None, status=503)
    sim.stats.reset()

    result = run_sync("full")

    assert not result.success
    listing_requests = sim.stats.requests_for("/v4/user")
    assert len(listing_requests) == HTTP_ATTEMPTS * (1 + 1)
    restarts = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED]
    assert [e.step_key for e in restarts] == ["raw_api_tables"]
    assert [step for step, _ in step_failures(result)] == ["raw_api_tables"]
    [(_, message)] = step_failures(result)
    assert "503" in message
    assert not pipeline_env.snapshot_path.exists()
    assert query(pipeline_env.duckdb_path, "SELECT count(*) FROM raw.sync_runs") == [(0,)]


def test_a_retried_step_records_its_attempt_in_the_assets_metadata(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
    monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
    monkeypatch.setattr(http, "backoff_seconds", lambda attempt: 0.0)
    # Every request of the first step attempt's user listing fails; the second attempt's works.
    pipeline_env.sim.faults.add("/v4/user", method="GET", times=HTTP_ATTEMPTS, status=503)

    result = run_sync("full")

    assert result.success
    restarts = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED]
    assert [e.step_key for e in restarts] == ["raw_api_tables"]
    attempts = {
        m.asset_key.to_user_string(): m.metadata["attempt"].value
        for m in result.asset_materializations_for_node("raw_api_tables")
    }
    assert attempts == {"raw/users": 2, "raw/meeting_types": 2, "raw/appointments": 2}
