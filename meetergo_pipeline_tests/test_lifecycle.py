"""Webhooks and analytics end to end: simulator -> real receiver -> Dagster jobs -> DuckDB.

Every test runs the pipeline's own Dagster jobs in process against the simulator over
loopback, with the webhook receiver (uvicorn on a free port) registered as the simulator's
webhook endpoint, and reads the published snapshot (or the working file) with DuckDB.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    validate_run_config,
)

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, WEBHOOK_JOB, sync_config
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer, TenantError, is_cancelled
from meetergo_pipeline.simulator.events import BOOKING_EVENT_TYPES
from meetergo_pipeline.simulator.isotime import parse_iso
from meetergo_pipeline.simulator.metering import score_metering
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs
from meetergo_pipeline.webhooks.server import ReceiverServer
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, use_pipeline_env

EVENT_TYPES = [*BOOKING_EVENT_TYPES, "new_employee"]
QUIET_DELIVERY = {"duplicate_rate": 0.0, "reorder_rate": 0.0, "legacy_envelope_rate": 0.0}


@dataclass
class Lifecycle:
    """One installation: simulator, receiver registered at it, pipeline env in a temp dir."""

    env: PipelineEnv
    receiver: ReceiverServer

    @property
    def sim(self) -> SimulatorServer:
        return self.env.sim

    def settle(self) -> None:
        """Wait until every webhook delivery has been sent, and check all were stored."""
        assert self.sim.webhooks.wait_idle(15)
        statuses = {d.status for d in self.sim.tenant.delivered_events}
        assert statuses <= {200}, statuses


@pytest.fixture
def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Lifecycle]]:
    """Factory: `start(seed=..., **SimulatorConfig fields)` -> a running Lifecycle.

    Each test uses its own seed, hence its own API key and its own process-wide rate budget.
    """
    with ExitStack() as stack:

        def _start(seed: int, **config: object) -> Lifecycle:
            settings = {"users": 5, "appointments": 500, "rate_limit_enabled": False, **config}
            sim = stack.enter_context(SimulatorServer(SimulatorConfig(seed=seed, **settings)))
            env = use_pipeline_env(PipelineEnv(sim, tmp_path), monkeypatch)
            monkeypatch.setenv("MEETERGO_API_BUDGET_SHARE", "1.0")
            receiver = stack.enter_context(
                ReceiverServer(secrets.token_urlsafe(24), env.webhook_dir)
            )
            sim.tenant.add_webhook(receiver.url, EVENT_TYPES, "pipeline receiver")
            return Lifecycle(env, receiver)

        yield _start


def run_job(name: str, mode: str | None = None):
    job = build_definitions().resolve_job_def(name)
    return job.execute_in_process(
        run_config=sync_config(mode) if mode else None,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def refresh():
    return run_job(WEBHOOK_JOB)


def sync(mode: str = "incremental"):
    return run_job(SYNC_JOB, mode)


def query(path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def instant(text: str) -> datetime:
    return datetime.fromtimestamp(parse_iso(text), UTC)


def run_errors(result) -> str:
    """Every error message of the run's events, causes included (as the Dagster UI shows)."""
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause or error.context
    return "\n".join(messages)


def materialized(result) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events() if m}


def appointment_row(path: Path, appointment_id: str) -> list[tuple]:
    return query(
        path,
        "SELECT status, cancelled_at, source, created_at, start_at FROM core.appointments "
        "WHERE appointment_id = ?",
        [appointment_id],
    )


def checksums(path: Path, tables: list[str]) -> dict[str, tuple]:
    return {
        table: query(path, f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {table}")[0]
        for table in tables
    }


def file_state(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_size, stat.st_mtime_ns


def free_slot(after: float) -> float:
    """The next full hour after `after`; 400 days ahead is past every generated booking
    (the simulator generates starts from 365 days back to 60 days ahead of its anchor)."""
    return (after // 3600 + 1) * 3600


# ---- 1. late cancellation ----------------------------------------------------------------


def test_late_cancellation_reaches_core_from_the_webhook_alone(start) -> None:
    life = start(seed=201, **QUIET_DELIVERY)
    assert sync("full").success
    (target,) = life.sim.tenant.random_appointment_ids(1)
    assert appointment_row(life.env.snapshot_path, target)[0][:3] == ("confirmed", None, "api")

    life.sim.tenant.cancel_appointment(target, reason="Krank", action_source="attendee")
    life.settle()
    (cancel_event,) = [
        d for d in life.sim.tenant.delivered_events if d.webhook_type == "booking_cancelled"
    ]
    assert cancel_event.body["id"] == target
    requests_before = life.sim.stats.total

    result = refresh()
    assert result.success
    assert life.sim.stats.total == requests_before  # the webhook refresh calls no API
    assert "raw/appointments" not in materialized(result)
    assert "analytics/published_snapshot" in materialized(result)
    status, cancelled_at, source, _, _ = appointment_row(life.env.snapshot_path, target)[0]
    assert status == "cancelled"
    assert cancelled_at == instant(cancel_event.body["cancel"]["actionAt"])
    assert source == "api+webhook"
    # The API-only view still shows the (stale) read; the webhook is what cancelled it.
    assert query(
        life.env.snapshot_path,
        "SELECT status FROM core.api_appointments WHERE appointment_id = ?",
        [target],
    ) == [("confirmed",)]
    # Exactly one appointment changed state.
    truth = life.sim.tenant.truth()
    assert query(
        life.env.snapshot_path,
        "SELECT count(*), count(*) FILTER (WHERE status = 'cancelled') FROM core.appointments",
    ) == [(truth.appointment_count, truth.cancelled_count)]


# ---- 2. a booking known only from events ---------------------------------------------------


def test_booking_known_only_from_events_then_read_from_the_api(start) -> None:
    life = start(seed=202, **QUIET_DELIVERY)
    assert sync("full").success
    tenant = life.sim.tenant
    meeting_type = tenant.meeting_types[0]
    # (Booked "via the API" in the simulator's truth although the host is a standard user:
    # the pipeline's metering rule cannot see that; metering is checked in the live test.)
    body = tenant.create_booking(
        meeting_type["id"],
        free_slot(tenant.now() + 400 * 86400),
        attendee={"email": "late@example.org", "firstname": "Lena", "lastname": "Late"},
    )
    booking_id = body["id"]
    life.settle()

    assert refresh().success
    snapshot = life.env.snapshot_path
    rows = query(
        snapshot,
        "SELECT status, source, created_at, start_at, host_user_id, meeting_type_id, "
        "attendee_count, last_api_read_at FROM core.appointments WHERE appointment_id = ?",
        [booking_id],
    )
    assert rows == [
        (
            "confirmed",
            "webhook",
            instant(body["createdAt"]),
            instant(body["start"]),
            meeting_type["userId"],
            meeting_type["id"],
            1,
            None,
        )
    ]
    (api_rows,) = query(
        snapshot,
        "SELECT count(*) FROM core.api_appointments WHERE appointment_id = ?",
        [booking_id],
    )[0]
    assert api_rows == 0

    assert sync("incremental").success
    rows = query(
        snapshot,
        "SELECT status, source, created_at FROM core.appointments WHERE appointment_id = ?",
        [booking_id],
    )
    # The booking_created event is not newer than the API's updatedAt, so the read alone
    # explains the state: 'api' (an 'api+webhook' would mean the event was double-applied).
    assert rows == [("confirmed", "api", instant(body["createdAt"]))]
    truth = tenant.truth()
    assert query(
        snapshot, "SELECT count(*), count(DISTINCT appointment_id) FROM core.appointments"
    ) == [(truth.appointment_count, truth.appointment_count)]


# ---- 3. new_employee ---------------------------------------------------------------------


def test_new_employee_webhook_adds_the_user_before_the_next_sync(start) -> None:
    life = start(seed=203, **QUIET_DELIVERY)
    assert sync("full").success
    created = life.sim.tenant.create_user(
        "nora.neu@api.example-gmbh.de", "Nora", "Neu", "Europe/Berlin", user_type="api-platform"
    )
    user_id = created["userId"]
    life.settle()
    assert [d.webhook_type for d in life.sim.tenant.delivered_events] == ["new_employee"]

    assert refresh().success
    snapshot = life.env.snapshot_path
    columns = "email, full_name, user_type, timezone, source"
    select = f"SELECT {columns} FROM core.users WHERE user_id = ?"
    expected = ("nora.neu@api.example-gmbh.de", "Nora Neu", "api-platform", "Europe/Berlin")
    assert query(snapshot, select, [user_id]) == [(*expected, "webhook")]
    truth = life.sim.tenant.truth()
    assert query(snapshot, "SELECT count(*) FROM core.users")[0][0] == truth.user_count

    assert sync("incremental").success
    assert query(snapshot, select, [user_id]) == [(*expected, "api")]
    assert query(snapshot, "SELECT count(*) FROM core.users")[0][0] == truth.user_count


# ---- 4. duplicates, out of order, legacy envelope; idempotent re-ingest -------------------


def test_duplicate_reordered_and_legacy_deliveries_collapse_to_one_event_each(
    start, tmp_path: Path
) -> None:
    life = start(
        seed=204,
        duplicate_rate=0.5,
        reorder_rate=0.5,
        reorder_delay_s=0.2,
        legacy_envelope_rate=0.5,
    )
    tenant = life.sim.tenant
    assert sync("full").success
    new_ids = tenant.add_random_bookings(6)
    tenant.cancel_appointment(new_ids[0])  # likely to overtake its own booking_created
    for appointment_id in tenant.random_appointment_ids(3):
        tenant.cancel_appointment(appointment_id)
    for appointment_id in tenant.random_appointment_ids(3):
        with suppress(TenantError):  # the new slot may be taken
            tenant.reschedule_appointment(appointment_id, tenant.start_of(appointment_id) + 86400)

    # A webhook-only appointment whose cancellation (legacy envelope) arrives before its
    # creation (flat), each delivered twice: duplicates and reordering without the dice.
    ghost = str(uuid.uuid4())
    host = tenant.users[1]["id"]
    created_at, cancelled_at = "2030-01-10T08:00:00.000Z", "2030-01-11T09:30:00.000Z"
    cancel = {
        "event": "booking_cancelled",
        "timestamp": cancelled_at,
        "data": {"appointmentId": ghost, "cancel": {"actionAt": cancelled_at}},
    }
    create = {
        "webhookType": "booking_created",
        "id": ghost,
        "createdAt": created_at,
        "updatedAt": created_at,
        "start": "2030-02-01T10:00:00.000Z",
        "end": "2030-02-01T10:30:00.000Z",
        "hostIds": [host],
    }
    for body in (cancel, cancel, create, create):
        assert httpx.post(life.receiver.url, json=body).status_code == 200

    life.settle()
    delivered = tenant.delivered_events
    emitted = [e for e in tenant.emitted_events if e.webhook_type in BOOKING_EVENT_TYPES]
    duplicates = sum(d.duplicate for d in delivered)
    legacy_events = sum(d.legacy_envelope and not d.duplicate for d in delivered)
    # The dice (fixed seed) did produce each kind of delivery this test is about.
    assert duplicates >= 2 and legacy_events >= 2
    # Flat bodies are the emitted payload objects themselves: their first deliveries went
    # out in a different order than the changes happened (held-back deliveries overtaken).
    first_sent = {id(d.body): i for i, d in reversed(list(enumerate(delivered)))}
    sent_order = [first_sent[id(e.payload)] for e in emitted if id(e.payload) in first_sent]
    assert len(sent_order) >= 3 and sent_order != sorted(sent_order)

    assert refresh().success
    working, snapshot = life.env.duckdb_path, life.env.snapshot_path
    assert query(snapshot, "SELECT count(*) FROM core.booking_events")[0][0] == len(emitted) + 2
    assert query(
        working,
        "SELECT count(*), sum(delivery_count), count(*) FILTER (WHERE delivery_count > 1) "
        "FROM raw.webhook_events",
    ) == [(len(emitted) + 2, len(delivered) + 4, duplicates + 2)]
    # Legacy envelopes are parsed like flat bodies (the ghost's cancellation is one of them).
    assert query(
        snapshot, "SELECT count(*) FROM core.booking_events WHERE payload_format = 'legacy'"
    ) == [(legacy_events + 1,)]
    ghost_select = (
        "SELECT status, source, created_at, cancelled_at, host_user_id FROM core.appointments "
        "WHERE appointment_id = ?"
    )
    expected_ghost = ("cancelled", "webhook", instant(created_at), instant(cancelled_at), host)
    assert query(snapshot, ghost_select, [ghost]) == [expected_ghost]
    # Whatever order they arrived in, every simulated appointment ends in its true state.
    for appointment_id in {e.payload["id"] for e in emitted}:
        body = tenant.appointments[appointment_id]
        status = "cancelled" if is_cancelled(body) else "confirmed"
        (row,) = appointment_row(snapshot, appointment_id)
        assert (row[0], row[4]) == (status, instant(body["start"])), appointment_id

    # A third delivery of the ghost's cancellation arrives after the first ingest.
    assert httpx.post(life.receiver.url, json=cancel).status_code == 200
    assert refresh().success
    assert query(
        working,
        "SELECT delivery_count FROM raw.webhook_events WHERE appointment_id = ? "
        "AND event_type = 'booking_cancelled'",
        [ghost],
    ) == [(3,)]
    assert query(snapshot, "SELECT count(*) FROM core.booking_events")[0][0] == len(emitted) + 2

    # Refreshing again with nothing new changes nothing ...
    tables = ["raw.webhook_events", "core.booking_events", "core.appointments", "core.users"]
    before = checksums(working, tables)
    assert refresh().success
    assert refresh().success
    assert checksums(working, tables) == before
    # ... and the whole log ingested at once into a fresh warehouse gives the same event table
    # as the incremental ingests did.
    fresh = connect_writer(tmp_path / "fresh.duckdb")
    try:
        result = ingest_webhook_logs(fresh, life.env.webhook_dir)
        assert result.new_events == len(emitted) + 2
        again = ingest_webhook_logs(fresh, life.env.webhook_dir)
        assert (again.lines_read, again.new_events) == (0, 0)
        columns = "event_key, event_type, event_type_as_sent, payload_format, appointment_id, "
        columns += "user_id, entity_path, occurred_at, received_at, delivery_count, "
        columns += "CAST(body AS VARCHAR), source_file"
        order = f"SELECT {columns} FROM raw.webhook_events ORDER BY event_key"
        fresh_rows = fresh.execute(order).fetchall()
    finally:
        fresh.close()
    assert fresh_rows == query(working, order)


# ---- 5. sensor and schedules --------------------------------------------------------------


def test_webhook_log_sensor_requests_a_run_only_for_new_log_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_dir = tmp_path / "webhooks"
    monkeypatch.setenv("MEETERGO_WEBHOOK_LOG_DIR", str(log_dir))
    defs = build_definitions()
    sensor_def = defs.get_sensor_def("meetergo_webhook_log")
    assert sensor_def.job_name == WEBHOOK_JOB

    def tick(cursor: str | None):
        context = build_sensor_context(cursor=cursor)
        return sensor_def(context), context.cursor

    outcome, cursor = tick(None)
    assert isinstance(outcome, SkipReason) and cursor is None  # no log folder yet

    with ReceiverServer(secrets.token_urlsafe(24), log_dir) as receiver:
        body = {"webhookType": "booking_created", "id": "a-1", "createdAt": "2030-01-01T00:00Z"}
        assert httpx.post(receiver.url, json=body).status_code == 200
        outcome, first_cursor = tick(cursor)
        assert isinstance(outcome, RunRequest)
        assert first_cursor and outcome.run_key == first_cursor

        outcome, cursor = tick(first_cursor)  # nothing appended since
        assert isinstance(outcome, SkipReason) and cursor == first_cursor

        # A quarantined delivery is not ingestible data: no run for it.
        assert httpx.post(receiver.url, content=b"{not json").status_code == 400
        outcome, cursor = tick(first_cursor)
        assert isinstance(outcome, SkipReason)

        assert httpx.post(receiver.url, json={**body, "id": "a-2"}).status_code == 200
        outcome, second_cursor = tick(first_cursor)
        assert isinstance(outcome, RunRequest)
        assert second_cursor != first_cursor and outcome.run_key == second_cursor


def test_schedules_use_the_configured_crons_and_select_the_sync_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETERGO_SYNC_CRON", "*/20 6-22 * * 1-5")
    monkeypatch.setenv("MEETERGO_FULL_SWEEP_CRON", "15 2 * * 0")
    monkeypatch.setenv("MEETERGO_SCHEDULE_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("MEETERGO_WEBHOOK_LOG_DIR", str(tmp_path / "webhooks"))
    monkeypatch.setenv("MEETERGO_API_KEY", f"ak_live:{uuid.uuid4()}:{'x' * 32}")
    defs = build_definitions()
    job = defs.resolve_job_def(SYNC_JOB)
    expected = {
        "meetergo_hourly_incremental": ("*/20 6-22 * * 1-5", "incremental"),
        "meetergo_daily_full_sweep": ("15 2 * * 0", "full"),
    }
    for name, (cron, mode) in expected.items():
        schedule = defs.get_schedule_def(name)
        assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, "Europe/Berlin")
        assert schedule.job_name == SYNC_JOB
        tick_time = datetime(2030, 1, 7, 6, 20, tzinfo=UTC)
        data = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick_time))
        (request,) = data.run_requests
        assert request.run_config == {"ops": {"raw_api_tables": {"config": {"mode": mode}}}}
        validate_run_config(job, request.run_config)  # the job accepts it as it is

    monkeypatch.delenv("MEETERGO_SYNC_CRON")
    monkeypatch.delenv("MEETERGO_FULL_SWEEP_CRON")
    monkeypatch.delenv("MEETERGO_SCHEDULE_TIMEZONE")
    defaults = build_definitions()
    incremental = defaults.get_schedule_def("meetergo_hourly_incremental")
    assert (incremental.cron_schedule, incremental.execution_timezone) == ("0 * * * *", "UTC")
    assert defaults.get_schedule_def("meetergo_daily_full_sweep").cron_schedule == "30 3 * * *"


# ---- 6. live mode against ground truth ----------------------------------------------------


def test_live_tenant_matches_ground_truth_from_webhooks_then_from_a_full_sync(start) -> None:
    life = start(
        seed=206,
        users=4,
        appointments=300,
        live=True,
        live_interval_s=0.1,
        duplicate_rate=0.2,
        reorder_rate=0.2,
        reorder_delay_s=0.1,
        legacy_envelope_rate=0.2,
    )
    tenant = life.sim.tenant
    assert sync("full").success  # read while the tenant keeps changing
    deadline = time.monotonic() + 5
    while life.sim.live.rounds < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    life.sim.live.stop()
    life.settle()
    truth = tenant.truth()
    rounds = life.sim.live.rounds
    assert rounds >= 5
    kinds = {e.webhook_type for e in tenant.emitted_events}
    assert {"booking_created", "booking_cancelled"} <= kinds

    def assert_core_equals_truth() -> None:
        rows = query(
            life.env.snapshot_path,
            "SELECT appointment_id, status, start_at, created_at FROM core.appointments",
        )
        assert len(rows) == truth.appointment_count
        assert {row[0] for row in rows} == truth.appointment_ids
        expected = {
            i: ("cancelled" if is_cancelled(b) else "confirmed", tenant.start_of(i))
            for i, b in tenant.appointments.items()
        }
        actual = {row[0]: (row[1], row[2].timestamp()) for row in rows}
        assert actual == expected
        assert sum(row[1] == "cancelled" for row in rows) == truth.cancelled_count
        assert all(row[3] is not None for row in rows)

    # Webhooks alone bring the first (mid-change) read up to the truth, without an API call.
    requests_before = life.sim.stats.total
    assert refresh().success
    assert life.sim.stats.total == requests_before
    assert_core_equals_truth()
    (webhook_only,) = query(
        life.env.snapshot_path, "SELECT count(*) FROM core.appointments WHERE source = 'webhook'"
    )[0]
    assert webhook_only > 0  # bookings made after their host was read came from webhooks

    assert sync("full").success
    assert_core_equals_truth()
    snapshot = life.env.snapshot_path
    assert query(snapshot, "SELECT DISTINCT source FROM core.appointments") == [("api",)]
    # Every change was delivered and the read is fresh: webhooks and API agree everywhere.
    reconciliation = query(
        snapshot,
        "SELECT sum(booking_events), sum(events_without_api_appointment), "
        "sum(creations_without_event), sum(cancellations_without_event), "
        "sum(reschedules_without_event), sum(state_disagreements) "
        "FROM analytics.webhook_reconciliation",
    )
    booking_events = sum(e.webhook_type in BOOKING_EVENT_TYPES for e in tenant.emitted_events)
    assert reconciliation == [(booking_events, 0, 0, 0, 0, 0)]

    # Metering: the default rule (u.user_type = 'api-platform' over the main host) meters
    # exactly the bookings whose main host is an api-platform user. The simulator's own record
    # of what was booked through the API differs from that on purpose: the rule errs both ways.
    metered = {
        row[0] for row in query(snapshot, "SELECT appointment_id FROM analytics.metered_bookings")
    }
    assert metered == set(truth.platform_hosted_ids)
    error = score_metering(metered, truth.api_created_ids)
    assert error.false_positives + error.false_negatives > 0 and error.true_positives > 0
    (billed,) = query(snapshot, "SELECT sum(api_bookings) FROM analytics.usage_billing_monthly")[0]
    assert billed == len(truth.platform_hosted_ids) > 0
    (billed_by_user,) = query(
        snapshot, "SELECT sum(api_bookings) FROM analytics.usage_billing_by_user"
    )[0]
    assert billed_by_user == billed

    created, cancelled = query(
        snapshot,
        "SELECT sum(bookings_created), sum(bookings_cancelled) FROM analytics.booking_volume_daily",
    )[0]
    assert created == truth.appointment_count  # every appointment has a createdAt
    assert cancelled == truth.cancelled_count


# ---- 7. a failed analytics build or a blocking check never publishes -----------------------


def test_failed_analytics_build_keeps_the_published_snapshot(
    start, monkeypatch: pytest.MonkeyPatch
) -> None:
    life = start(seed=207, **QUIET_DELIVERY)
    assert sync("full").success
    snapshot = life.env.snapshot_path
    published = file_state(snapshot)
    (target,) = life.sim.tenant.random_appointment_ids(1)
    life.sim.tenant.cancel_appointment(target)
    life.settle()

    monkeypatch.setenv("MEETERGO_METERED_BOOKING_PREDICATE", "u.nope = 1")
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")  # a bad setting must not be retried
    began = time.monotonic()
    failed = refresh()
    assert not failed.success
    assert time.monotonic() - began < 10  # no 15 s / 30 s retry backoff
    assert not [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "analytics_tables"
    message = failure.event_specific_data.error.message  # the top line, as the UI shows it
    assert "MEETERGO_METERED_BOOKING_PREDICATE='u.nope = 1'" in message
    assert "nope" in run_errors(failed)
    assert "analytics/published_snapshot" not in materialized(failed)
    assert file_state(snapshot) == published
    assert appointment_row(snapshot, target)[0][0] == "confirmed"
    # The analytics layer in the working file is still the previous, complete build.
    assert query(
        life.env.duckdb_path,
        "SELECT metered_booking_predicate FROM analytics.report_settings",
    ) == [("u.user_type = 'api-platform'",)]

    monkeypatch.delenv("MEETERGO_METERED_BOOKING_PREDICATE")
    assert refresh().success
    assert file_state(snapshot) != published
    assert appointment_row(snapshot, target)[0][0] == "cancelled"


def test_blocking_row_count_check_stops_core_analytics_and_publish(start) -> None:
    life = start(seed=208, **QUIET_DELIVERY)
    assert sync("full").success
    snapshot = life.env.snapshot_path
    published = file_state(snapshot)
    tenant = life.sim.tenant
    ids = sorted(tenant.appointments)
    for appointment_id in ids[: int(len(ids) * 0.6)]:
        tenant.delete_appointment(appointment_id)

    result = sync("full")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    row_counts = checks["row_counts_against_api"]
    assert not row_counts.passed and row_counts.severity.value == "ERROR"
    assert row_counts.asset_key.to_user_string() == "raw/appointments"
    assert "live appointments fell from" in row_counts.description
    assert "raw/appointments" in materialized(result)
    assert "core/appointments" not in materialized(result)
    assert "analytics/usage_billing_monthly" not in materialized(result)
    assert "analytics/published_snapshot" not in materialized(result)
    assert file_state(snapshot) == published
    assert query(snapshot, "SELECT count(*) FROM core.appointments WHERE deleted_at IS NULL") == [
        (len(ids),)
    ]
    assert not result.success


def test_deliveries_during_a_sync_are_all_stored_without_lock_errors(
    pipeline_env: PipelineEnv,
) -> None:
    """1,000 concurrent deliveries while Dagster writes DuckDB; the receiver never opens it."""
    token = secrets.token_urlsafe(24)
    statuses: list[int] = []

    async def deliver_all(url: str) -> None:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            bodies = [
                {
                    "webhookType": "booking_created",
                    "id": f"concurrent-{n}",
                    "createdAt": "2026-01-01T00:00:00Z",
                    "start": "2026-02-01T10:00:00Z",
                }
                for n in range(1000)
            ]
            responses = await asyncio.gather(*(client.post(url, json=b) for b in bodies))
            statuses.extend(r.status_code for r in responses)

    with ReceiverServer(token, pipeline_env.webhook_dir) as receiver:
        senders = threading.Thread(target=lambda: asyncio.run(deliver_all(receiver.url)))
        senders.start()
        result = sync("full")
        senders.join(timeout=120)
    assert result.success
    assert statuses == [200] * 1000
    assert refresh().success  # ingests whatever arrived after the sync read the log
    (distinct,) = query(
        pipeline_env.duckdb_path,
        "SELECT count(DISTINCT appointment_id) FROM raw.webhook_events "
        "WHERE starts_with(appointment_id, 'concurrent-')",
    )[0]
    assert distinct == 1000
