"""The Dagster sync job against the simulator: ground truth, reruns, increments, crashes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterInvalidConfigError, ExecuteInProcessResult

from meetergo_pipeline.client import PAGE_SIZE
from meetergo_pipeline.client.models import Appointment
from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, sync_config
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.simulator.tenant import is_cancelled
from meetergo_pipeline.warehouse.progress import SyncProgress
from meetergo_pipeline_tests.support.duckdb_files import query, table_checksums
from meetergo_pipeline_tests.support.pipeline_env import (
    PAGED,
    PipelineEnv,
    run_sync,
    use_pipeline_env,
)
from meetergo_pipeline_tests.support.processes import sync_then_get_killed


def test_full_sync_matches_the_simulators_ground_truth(pipeline_env: PipelineEnv) -> None:
    result = run_sync("full")
    assert result.success
    truth = pipeline_env.sim.tenant.truth()
    snapshot = pipeline_env.snapshot_path
    assert query(snapshot, "SELECT count(*) FROM core.users")[0][0] == truth.user_count
    assert query(snapshot, "SELECT count(*) FROM core.meeting_types")[0][0] == (
        truth.meeting_type_count
    )
    rows = query(
        snapshot,
        "SELECT appointment_id, status, host_user_id, start_at, attendee_count "
        "FROM core.appointments",
    )
    assert len(rows) == truth.appointment_count
    expected = {}
    for payload in pipeline_env.sim.tenant.appointments.values():
        appointment = Appointment.model_validate(payload)
        expected[appointment.id] = (
            appointment.status,
            appointment.host_user_id,
            appointment.start,
            len(appointment.attendees),
        )
    assert {row[0]: tuple(row[1:]) for row in rows} == expected
    cancelled = sum(1 for row in rows if row[1] == "cancelled")
    assert cancelled == truth.cancelled_count
    checks = result.get_asset_check_evaluations()
    blocking = {c.check_name: c.passed for c in checks if c.check_name.startswith("unique")}
    assert blocking and all(blocking.values())


def raw_ids(path: Path) -> dict[str, set[str]]:
    tables = {
        "users": "user_id",
        "meeting_types": "meeting_type_id",
        "appointments": "appointment_id",
    }
    return {
        table: {row[0] for row in query(path, f"SELECT {column} FROM raw.{table}")}
        for table, column in tables.items()
    }


def test_sync_with_a_personal_access_token_equals_the_sync_with_an_api_key(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = pipeline_env.sim
    assert run_sync("full").success
    with_key = raw_ids(pipeline_env.duckdb_path)
    token_dir = pipeline_env.root / "token"
    token_dir.mkdir()
    monkeypatch.setenv("MEETERGO_API_KEY", sim.admin_personal_token)
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(token_dir / "w.duckdb"))
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(token_dir / "s.duckdb"))
    sim.stats.reset()
    assert run_sync("full").success
    with_token = raw_ids(token_dir / "w.duckdb")
    truth = sim.tenant.truth()
    assert with_token == with_key
    assert len(with_token["meeting_types"]) == truth.meeting_type_count
    assert with_token["appointments"] == truth.appointment_ids
    assert {r.credential_kind for r in sim.stats.requests} == {"personal_token"}
    assert table_checksums(token_dir / "s.duckdb") == table_checksums(pipeline_env.snapshot_path)


def test_rerun_changes_nothing(pipeline_env: PipelineEnv) -> None:
    assert run_sync("full").success
    before = table_checksums(pipeline_env.snapshot_path)
    assert run_sync("full").success
    assert table_checksums(pipeline_env.snapshot_path) == before
    assert query(
        pipeline_env.duckdb_path,
        "SELECT count(*) = count(DISTINCT appointment_id) FROM raw.appointments",
    ) == [(True,)]


def test_new_bookings_are_picked_up_incrementally_with_few_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SimulatorConfig(seed=5, users=5, appointments=4000, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim:
        pipeline_env = use_pipeline_env(PipelineEnv(sim, tmp_path), monkeypatch)
        check_incremental_sync(pipeline_env)


def check_incremental_sync(pipeline_env: PipelineEnv) -> None:
    sim = pipeline_env.sim
    sim.stats.reset()
    assert run_sync("full").success
    full_requests = sim.stats.total
    assert run_sync("incremental").success  # nothing new: no re-scan is due after a sweep
    new_ids = sim.tenant.add_random_bookings(7)
    sim.stats.reset()
    assert run_sync("incremental").success
    incremental_requests = sim.stats.total
    ids = {
        row[0]
        for row in query(pipeline_env.snapshot_path, "SELECT appointment_id FROM core.appointments")
    }
    assert set(new_ids) <= ids
    assert len(ids) == sim.tenant.truth().appointment_count
    assert incremental_requests <= 2 * 5 + 1  # users + one createdAt-descending page per user
    assert incremental_requests * 4 < full_requests
    (spent,) = query(
        pipeline_env.duckdb_path,
        "SELECT requests_spent FROM raw.sync_runs ORDER BY finished_at DESC LIMIT 1",
    )[0]
    assert spent == incremental_requests


def test_failure_mid_sync_leaves_a_consistent_warehouse(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = pipeline_env.sim
    monkeypatch.setenv("MEETERGO_SYNC_COMMIT_EVERY_ROWS", "1")  # commit at every user boundary
    monkeypatch.setenv("MEETERGO_SYNC_WORKERS", "1")  # users in API order, one at a time
    assert run_sync("full").success
    clean = table_checksums(pipeline_env.snapshot_path)
    # The last user gets far more bookings than anyone else, so only its listing reaches
    # page 4, where the fault is: every user before it completes first.
    last_user = sim.tenant.users[-1]["id"]
    assert all(len(sim.tenant.appointment_ids_for_user(u["id"])) < 400 for u in sim.tenant.users)
    meeting_type = next(mt for mt in sim.tenant.meeting_types if mt["userId"] == last_user)
    for hour in range(450 - len(sim.tenant.appointment_ids_for_user(last_user))):
        sim.tenant.create_booking(
            meeting_type_id=meeting_type["id"],
            start=f"2031-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z",
            host_ids=[last_user],
        )
    sim.faults.add(
        method="GET",
        path=PAGED,
        query={"page": "4"},
        times=1000,
        status=400,
        body={"statusCode": 400, "message": "injected", "error": "Bad Request"},
    )
    hwm_before = query(
        pipeline_env.duckdb_path, "SELECT state_key, value FROM raw.sync_state ORDER BY 1"
    )
    failed = run_sync("full")
    assert not failed.success
    # The published snapshot is untouched by the failed run.
    assert table_checksums(pipeline_env.snapshot_path) == clean
    # State never ran ahead of data: every high-water mark is backed by a stored booking.
    orphan_marks = query(
        pipeline_env.duckdb_path,
        """
        SELECT count(*) FROM raw.sync_state s
        WHERE starts_with(s.state_key, 'appointments_hwm/')
          AND NOT EXISTS (SELECT 1 FROM raw.appointments a
                          WHERE a.created_at = CAST(s.value AS TIMESTAMPTZ))
        """,
    )
    assert orphan_marks == [(0,)]
    progress = query(
        pipeline_env.duckdb_path,
        """
        SELECT count(*) FILTER (WHERE last_seen_at > (SELECT max(started_at) FROM raw.sync_runs)),
               count(*)
        FROM raw.appointments
        """,
    )[0]
    assert 0 < progress[0] < progress[1], "the completed users' pages were committed, not all"
    assert query(pipeline_env.duckdb_path, "SELECT count(*) FROM raw.sync_runs")[0][0] == 1
    assert hwm_before  # the first run left marks
    sim.faults.clear()
    assert run_sync("full").success
    recovered = table_checksums(pipeline_env.snapshot_path)
    # A fresh warehouse synced from scratch gives exactly the same tables.
    fresh = pipeline_env.root / "fresh"
    fresh.mkdir()
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(fresh / "w.duckdb"))
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(fresh / "s.duckdb"))
    assert run_sync("full").success
    assert table_checksums(fresh / "s.duckdb") == recovered


def test_vanished_appointments_get_deleted_at(pipeline_env: PipelineEnv) -> None:
    sim = pipeline_env.sim
    assert run_sync("full").success
    gone = next(iter(sim.tenant.appointments))
    sim.tenant.delete_appointment(gone)
    assert run_sync("incremental").success
    assert query(
        pipeline_env.snapshot_path,
        f"SELECT deleted_at FROM core.appointments WHERE appointment_id = '{gone}'",
    ) == [(None,)]
    assert run_sync("full").success
    rows = query(
        pipeline_env.snapshot_path,
        f"SELECT deleted_at IS NOT NULL FROM core.appointments WHERE appointment_id = '{gone}'",
    )
    assert rows == [(True,)]
    raw = query(
        pipeline_env.duckdb_path,
        f"SELECT count(*) FROM raw.appointments WHERE appointment_id = '{gone}'",
    )
    assert raw == [(1,)]


def test_analyst_connection_keeps_working_during_a_sync(pipeline_env: PipelineEnv) -> None:
    sim = pipeline_env.sim
    assert run_sync("full").success
    analyst = duckdb.connect(str(pipeline_env.snapshot_path), read_only=True)
    try:
        (before,) = analyst.execute("SELECT count(*) FROM core.appointments").fetchone()
        new_ids = sim.tenant.add_random_bookings(5)
        assert run_sync("incremental").success
        # The open session keeps its consistent (old) snapshot ...
        assert analyst.execute("SELECT count(*) FROM core.appointments").fetchone() == (before,)
    finally:
        analyst.close()
    # ... and a new connection sees the new one.
    (after,) = query(pipeline_env.snapshot_path, "SELECT count(*) FROM core.appointments")[0]
    assert after == before + len(new_ids)


def test_missing_api_key_fails_naming_the_variable(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEETERGO_API_KEY")
    with pytest.raises(DagsterInvalidConfigError, match="MEETERGO_API_KEY"):
        run_sync("full")
    assert pipeline_env.sim.stats.total == 0


def test_malformed_api_key_fails_at_load_before_any_request(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETERGO_API_KEY", "ak_live:not-a-key")
    with pytest.raises(ValueError) as raised:
        build_definitions()
    message = str(raised.value)
    assert message.startswith("MEETERGO_API_KEY must be a platform API key ak_live:<uuid>:")
    assert "not-a-key" not in message
    assert pipeline_env.sim.stats.total == 0


def test_malformed_api_key_in_the_run_config_fails_the_run_before_any_request(
    pipeline_env: PipelineEnv,
) -> None:
    """A key changed after load (e.g. in the launchpad) is checked by the resource itself."""
    result = (
        build_definitions()
        .resolve_job_def(SYNC_JOB)
        .execute_in_process(
            run_config={
                **sync_config("full"),
                "resources": {"meetergo_api": {"config": {"api_key": "ak_live:not-a-key"}}},
            },
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    )
    assert not result.success
    errors = [
        event.event_specific_data.error.message
        for event in result.all_events
        if getattr(event.event_specific_data, "error", None) is not None
    ]
    message = "\n".join(errors)
    assert "MEETERGO_API_KEY is not a meetergo credential" in message
    assert "not-a-key" not in message
    assert pipeline_env.sim.stats.total == 0


def test_bad_numeric_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETERGO_SYNC_LOOKBACK_DAYS", "a week")
    with pytest.raises(ValueError, match="MEETERGO_SYNC_LOOKBACK_DAYS"):
        build_definitions()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MEETERGO_SYNC_WORKERS", "0", "a whole number >= 1"),
        ("MEETERGO_SYNC_COMMIT_EVERY_ROWS", "1.5", "a whole number >= 1"),
        ("MEETERGO_API_BUDGET_SHARE", "1.5", "a number > 0 and <= 1"),
        ("MEETERGO_API_RATE_LIMIT_PER_MINUTE", "0", "a number > 0"),
        ("MEETERGO_SYNC_LOOKBACK_DAYS", "-1", "a number >= 0"),
        ("MEETERGO_SYNC_HORIZON_DAYS", "nan", "a number >= 0"),
        ("MEETERGO_STEP_RETRIES", "-1", "a whole number >= 0"),
        ("MEETERGO_STEP_RETRY_DELAY_S", "-15", "a number >= 0"),
    ],
)
def test_numeric_setting_out_of_range_fails_at_load_naming_the_range(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as raised:
        build_definitions()
    assert str(raised.value) == f"{name} must be {expected}, got {value!r}"


def test_api_secret_never_reaches_the_event_log_or_the_warehouse(
    pipeline_env: PipelineEnv,
) -> None:
    secret = pipeline_env.sim.api_key.rsplit(":", 1)[-1]
    pipeline_env.sim.faults.add(method="GET", path=PAGED, query={"page": "0"}, times=1, status=500)
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def(SYNC_JOB)
    result = job.execute_in_process(
        run_config=sync_config("full"), instance=instance, raise_on_error=False
    )
    assert result.success
    records = instance.all_logs(result.run_id)
    assert len(records) > 20
    assert all(secret not in str(record) for record in records)
    for path in (pipeline_env.duckdb_path, pipeline_env.snapshot_path):
        assert secret.encode() not in path.read_bytes()


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_reported_every_15_s_with_the_time_left() -> None:
    clock = ManualClock()
    requests = [0]
    lines: list[str] = []
    # A budget of 60 requests a minute: one a second.
    progress = SyncProgress(lines.append, lambda: requests[0], 60, clock=clock)
    progress.start("new appointments", 4)

    def page(user_id: str, rows: int, seconds: float) -> None:
        clock.now += seconds
        requests[0] += 1
        progress.page(user_id, rows)

    page("u1", 100, 5)
    page("u2", 100, 5)
    page("u1", 100, 4.9)
    assert lines == []  # 14.9 s: nothing yet
    page("u1", 40, 0.1)
    assert lines == ["new appointments: 0/4 users, 4 pages, 340 rows, 4 requests"]
    progress.user_done("u1")
    page("u2", 100, 15)
    # u1 took 3 pages: 3 users left x 3 pages, less u2's 2 pages read = 7 requests, at the
    # rate seen (5 requests in 30 s, below the budget's 1 a second): 42 s.
    assert lines[-1] == (
        "new appointments: 1/4 users, 5 pages, 440 rows, 5 requests, about 42 s left"
    )
    assert len(lines) == 2
    progress.user_done("u2")
    progress.user_done("u3")
    progress.user_done("u4")
    assert len(lines) == 2  # no time passed
    progress.finish()
    assert lines[-1] == "new appointments: 4/4 users, 5 pages, 440 rows, 5 requests"

    # Requests faster than the budget allows (the burst): the budget's rate is what is left.
    progress.start("meeting types", 10)
    for user_id in ("a", "b", "c"):
        page(user_id, 2, 0.1)
        progress.user_done(user_id)
    assert progress.seconds_left() == pytest.approx(7.0)


def test_the_sync_reports_each_phase_in_the_run_log(pipeline_env: PipelineEnv) -> None:
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def(SYNC_JOB)
    result = job.execute_in_process(
        run_config=sync_config("full"), instance=instance, raise_on_error=False
    )
    assert result.success
    messages = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.step_key == "raw_api_tables"
    ]
    users = pipeline_env.sim.tenant.truth().user_count
    assert f"users: {users}" in messages
    phases = [m for m in messages if re.match(r"(meeting types|new appointments): ", m)]
    assert [m.split(":")[0] for m in phases] == ["meeting types", "new appointments"]
    for message in phases:
        assert re.fullmatch(
            rf"[a-z ]+: {users}/{users} users, \d+ pages, \d+ rows, \d+ requests", message
        )


READ_TIMES = ["last_api_read_at"]


def appointment_status(snapshot: Path, appointment_id: str) -> str:
    sql = f"SELECT status FROM core.appointments WHERE appointment_id = '{appointment_id}'"
    return query(snapshot, sql)[0][0]


def test_an_incremental_run_rereads_the_window_only_when_a_rescan_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to an existing booking has no new createdAt: only the window re-scan sees it."""
    # Two users with 1,000 bookings each: plenty in the window beyond their newest page.
    config = SimulatorConfig(seed=11, users=2, appointments=2000, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim:
        check_window_rescan(use_pipeline_env(PipelineEnv(sim, tmp_path), monkeypatch), monkeypatch)


def check_window_rescan(pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = pipeline_env.sim
    monkeypatch.setenv("MEETERGO_SYNC_LOOKBACK_DAYS", "7")
    monkeypatch.setenv("MEETERGO_SYNC_HORIZON_DAYS", "30")
    assert run_sync("full").success
    now, day = time.time(), 86_400
    tenant = sim.tenant
    # An incremental read re-reads each user's newest page (down to its high-water mark):
    # the bookings changed here must lie beyond it.
    newest_pages = {
        appointment_id
        for user in tenant.users
        for appointment_id in sorted(
            tenant.appointment_ids_for_user(user["id"]), key=tenant.created_of, reverse=True
        )[:PAGE_SIZE]
    }
    booked = [
        i
        for i, body in tenant.appointments.items()
        if not is_cancelled(body) and i not in newest_pages
    ]
    inside = next(i for i in booked if now - 6 * day < tenant.start_of(i) < now + 29 * day)
    outside = next(i for i in booked if tenant.start_of(i) < now - 8 * day)
    for appointment_id in (inside, outside):
        tenant.cancel_appointment(appointment_id)

    monkeypatch.setenv("MEETERGO_SYNC_RESCAN_EVERY_HOURS", "24")  # the sweep just re-scanned
    not_due = run_sync("incremental")
    assert not_due.success and rescanned(not_due) is False
    assert appointment_status(pipeline_env.snapshot_path, inside) != "cancelled"

    monkeypatch.setenv("MEETERGO_SYNC_RESCAN_EVERY_HOURS", "0")
    due = run_sync("incremental")
    assert due.success and rescanned(due) is True
    assert appointment_status(pipeline_env.snapshot_path, inside) == "cancelled"
    # Outside the window the change waits for the next full sweep.
    assert appointment_status(pipeline_env.snapshot_path, outside) != "cancelled"
    assert run_sync("full").success
    assert appointment_status(pipeline_env.snapshot_path, outside) == "cancelled"


def rescanned(result: ExecuteInProcessResult) -> bool:
    """Whether the run's API sync re-scanned the window, as its `mode` metadata says."""
    [mode] = [
        m.metadata["mode"].value
        for m in result.asset_materializations_for_node("raw_api_tables")
        if m.asset_key == AssetKey(["raw", "appointments"])
    ]
    return mode == "incremental + re-scan"


@pytest.mark.slow
def test_a_kill_after_the_api_commit_before_dagster_records_it_converges_on_the_rerun(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw rows and sync state are committed, the step never reported success: the next
    run (which may start at once: the writer lock went with the process) gives the tables
    of a clean run, but for when each row was last read. (The window re-scan merges rows by
    id and deletes nothing, so there is no moment between a delete and an insert to be
    killed in.)"""
    sync_then_get_killed("full")
    assert query(pipeline_env.duckdb_path, "SELECT count(*) FROM raw.sync_runs") == [(1,)]
    assert not pipeline_env.snapshot_path.exists()
    monkeypatch.setenv("MEETERGO_WRITER_LOCK_WAIT_S", "0")
    assert run_sync("incremental").success
    rerun = table_checksums(pipeline_env.snapshot_path, ignore=READ_TIMES)

    clean = pipeline_env.root / "clean"
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(clean / "meetergo.duckdb"))
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(clean / "meetergo_analytics.duckdb"))
    assert run_sync("full").success
    assert rerun == table_checksums(clean / "meetergo_analytics.duckdb", ignore=READ_TIMES)
