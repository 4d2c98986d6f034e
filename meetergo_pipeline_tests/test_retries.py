"""An API outage costs at most the documented number of requests, then fails the run.

One of the guarantees in docs/reliability.md.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from dagster import DagsterEventType

from meetergo_pipeline.client import http
from meetergo_pipeline.run_sync import run_failures, step_failures
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


def step_attempts(result, step: str) -> int:
    """How often `step` started: its first start plus every restart."""
    starts = (DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED)
    return sum(1 for e in result.all_events if e.event_type in starts and e.step_key == step)


def test_a_refused_key_fails_the_step_once_without_step_retries(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETERGO_API_KEY", f"ak_live:{uuid.uuid4()}:SENTINELWRONGSECRET")
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
    monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
    started = time.monotonic()
    result = run_sync("full")
    assert time.monotonic() - started < 30
    assert not result.success
    assert step_attempts(result, "raw_api_tables") == 1
    [(_, message)] = [f for f in step_failures(result) if f[0] == "raw_api_tables"]
    assert message.startswith("MEETERGO_API_KEY was refused by the API (401: Invalid API key)")
    assert "SENTINEL" not in message
    assert len(pipeline_env.sim.stats.requests_for("/v4/user/me")) == 1


def test_an_unreachable_base_url_fails_the_step_once_naming_it(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("MEETERGO_API_BASE_URL", url)
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
    monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
    # The client's connect retries (at most 30 s of waits) only cost the test time.
    monkeypatch.setattr(http, "backoff_seconds", lambda attempt: 0.0)
    result = run_sync("full")
    assert not result.success
    assert step_attempts(result, "raw_api_tables") == 1
    [(_, message)] = [f for f in step_failures(result) if f[0] == "raw_api_tables"]
    assert message == (
        f"cannot connect to {url} (MEETERGO_API_BASE_URL): connection refused (after "
        f"{HTTP_ATTEMPTS} attempts); check the URL and that this machine can reach it"
    )


def test_an_unwritable_warehouse_fails_the_run_at_once_naming_the_variable(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer lock beside the working file cannot be taken: the run fails before any
    step starts, so no step retry repeats it."""
    blocker = pipeline_env.root / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(blocker / "meetergo.duckdb"))
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
    monkeypatch.setenv("MEETERGO_STEP_RETRY_DELAY_S", "0")
    result = run_sync("full")
    assert not result.success
    assert step_attempts(result, "raw_api_tables") == 0
    assert step_failures(result) == []
    messages = [message for _, message in run_failures(result)]
    assert (
        f"cannot write {blocker} (MEETERGO_DUCKDB_PATH): it is a file, not a folder: make "
        "it writable by this user or point MEETERGO_DUCKDB_PATH elsewhere"
    ) in messages


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
