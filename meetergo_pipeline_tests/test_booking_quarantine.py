"""Webhooks that cannot form an appointment row are quarantined; everything else publishes.

A booking event about an appointment the API has not listed, carrying no usable start, would
give core.appointments a row without start_at and trip the blocking key check on every run.
Such events go to core.rejected_booking_events with their reason instead, a WARN check
reports them, and they leave the quarantine once the API lists the appointment. Proved
through the Dagster jobs against the simulator (deliveries appended to the log dir as the
receiver writes them) and on the core SQL with hand-built raw rows.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetCheckSeverity, DagsterInstance, ExecuteInProcessResult

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import WEBHOOK_JOB
from meetergo_pipeline.transform import (
    TransformSettings,
    build_analytics,
    build_core,
    check_no_rejected_booking_events,
    check_non_null_keys,
    check_unique_ids,
)
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync
from meetergo_pipeline_tests.support.raw_rows import (
    add_appointment,
    add_event,
    appointment_payload,
    ts,
)
from meetergo_pipeline_tests.support.webhooks import Delivery, append_to_log, ingest_deliveries

NO_START = "no start time for an appointment the API has not listed"
NOT_A_DATE = "start time not parseable: text in no known date and time format"
A_NUMBER = "start time not parseable: a number, not date and time text"
AN_OBJECT = "start time not parseable: a JSON object, not date and time text"
CREATED_OUT_OF_RANGE = (
    "creation time outside the years 2000 to 2099 for an appointment the API has not listed"
)
KEY_COLUMNS = ["appointment_id", "start_at", "status"]
ATTENDEE = {"email": "quarantine.person@example.org", "firstname": "Quinn", "lastname": "Private"}


# The deliveries that cannot form a row: case -> (folded event type, payload format, reason).
CASES: dict[str, tuple[str, str, str]] = {
    "legacy cancel without start": ("booking_cancelled", "legacy", NO_START),
    "flat reschedule without start": ("booking_rescheduled", "flat", NO_START),
    "start not a date": ("booking_created", "flat", NOT_A_DATE),
    "created without start": ("booking_created", "flat", NO_START),
}
BOOKING_EVENT_TYPES = ("booking_created", "booking_rescheduled", "booking_cancelled")


def bad_body(case: str, appointment_id: str, at: str) -> dict[str, Any]:
    """The body of `case` about `appointment_id`, its change made at `at` (ISO text)."""
    end = "2031-05-05T10:30:00Z"
    bodies: dict[str, dict[str, Any]] = {
        "legacy cancel without start": {
            "event": "booking_cancelled",
            "timestamp": at,
            "data": {"appointmentId": appointment_id, "cancel": {"actionAt": at}},
        },
        "flat reschedule without start": {
            "webhookType": "booking_rescheduled",
            "id": appointment_id,
            "rescheduledAt": at,
            "end": end,
            "attendees": [ATTENDEE],
        },
        "start not a date": {
            "webhookType": "booking_created",
            "id": appointment_id,
            "createdAt": at,
            "start": "not a date",
            "end": end,
            "attendees": [ATTENDEE],
        },
        "created without start": {
            "webhookType": "booking_created",
            "id": appointment_id,
            "createdAt": at,
            "attendees": [ATTENDEE],
        },
    }
    return bodies[case]


# --- through the Dagster jobs ----------------------------------------------------------------


def run_webhook_refresh() -> ExecuteInProcessResult:
    job = build_definitions().resolve_job_def(WEBHOOK_JOB)
    return job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)


def materialized(result: ExecuteInProcessResult) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events() if m}


def check_evaluations(result: ExecuteInProcessResult) -> dict[str, Any]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def query(path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def quarantined(snapshot: Path) -> set[tuple[str, str, str, str]]:
    return set(
        query(
            snapshot,
            "SELECT appointment_id, event_type, payload_format, reason "
            "FROM core.rejected_booking_events",
        )
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_undeliverable_bookings_are_quarantined_the_rest_publishes_until_the_api_lists_them(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    tenant = env.sim.tenant
    now = datetime.now(UTC)
    ghosts = {case: str(uuid.uuid4()) for case in CASES}
    deliveries = [(bad_body(case, ghosts[case], "2030-01-10T08:00:00Z"), now) for case in CASES]
    # A webhook-only booking whose events are valid publishes as before.
    meeting_type = tenant.meeting_types[0]
    valid_id = str(uuid.uuid4())
    valid = {
        "webhookType": "booking_created",
        "id": valid_id,
        "createdAt": "2030-01-10T08:00:00Z",
        "start": "2030-02-01T10:00:00Z",
        "end": "2030-02-01T10:30:00Z",
        "meetingTypeId": meeting_type["id"],
        "hostIds": [meeting_type["userId"]],
        "attendees": [ATTENDEE],
    }
    append_to_log(env.webhook_dir, [*deliveries, (valid, now)])

    result = run_sync("full")

    assert result.success
    assert "analytics/published_snapshot" in materialized(result)
    checks = check_evaluations(result)
    assert checks["non_null_keys"].passed
    warning = checks["no_rejected_booking_events"]
    assert not warning.passed
    assert warning.severity == AssetCheckSeverity.WARN
    assert warning.asset_key.to_user_string() == "core/rejected_booking_events"
    assert warning.metadata["events_by_reason"].value == {NO_START: 3, NOT_A_DATE: 1}
    assert set(warning.metadata["sample_appointment_ids"].value) == set(ghosts.values())
    assert "look its id up in meetergo" in warning.description
    snapshot = env.snapshot_path
    expected_ghosts = {(ghosts[case], *expected) for case, expected in CASES.items()}
    assert quarantined(snapshot) == expected_ghosts
    truth = tenant.truth()
    assert query(snapshot, "SELECT count(*), count(start_at) FROM core.appointments") == [
        (truth.appointment_count + 1, truth.appointment_count + 1)
    ]
    assert query(
        snapshot,
        "SELECT source, status, start_at FROM core.appointments WHERE appointment_id = ?",
        [valid_id],
    ) == [("webhook", "confirmed", ts("2030-02-01T10:00:00Z"))]
    assert query(
        snapshot,
        "SELECT count(*) FROM core.appointments WHERE list_contains(?, appointment_id)",
        [list(ghosts.values())],
    ) == [(0,)]

    # Bookings the API does list, whose webhooks arrive before the next sync reads them.
    slot = (tenant.now() // 3600 + 1) * 3600 + 400 * 86400  # past every generated booking
    listed = {
        case: tenant.create_booking(meeting_type["id"], slot + n * 86400)["id"]
        for n, case in enumerate(CASES)
    }
    event_at = iso(now + timedelta(minutes=5))  # newer than the API's read of them
    append_to_log(
        env.webhook_dir,
        [(bad_body(case, listed[case], event_at), now) for case in CASES],
    )
    refreshed = run_webhook_refresh()
    assert refreshed.success
    assert "analytics/published_snapshot" in materialized(refreshed)
    assert {row[0] for row in quarantined(snapshot)} == {*ghosts.values(), *listed.values()}
    assert not check_evaluations(refreshed)["no_rejected_booking_events"].passed

    synced = run_sync("incremental")
    assert synced.success
    assert quarantined(snapshot) == expected_ghosts
    rows = {
        appointment_id: (status, source, start_at)
        for appointment_id, status, source, start_at in query(
            snapshot,
            "SELECT appointment_id, status, source, start_at FROM core.appointments "
            "WHERE list_contains(?, appointment_id)",
            [list(listed.values())],
        )
    }
    starts = {case: ts(tenant.appointments[listed[case]]["start"]) for case in CASES}
    cancel = "legacy cancel without start"
    assert rows[listed[cancel]] == ("cancelled", "api+webhook", starts[cancel])
    for case in CASES:
        assert rows[listed[case]][2] == starts[case], case
    assert query(snapshot, "SELECT count(*) FROM core.appointments") == [
        (tenant.truth().appointment_count + 1,)
    ]


# --- the core SQL, on hand-built raw rows ----------------------------------------------------


def add_listed_appointment(con: duckdb.DuckDBPyConnection, appointment_id: str) -> None:
    add_appointment(
        con,
        appointment_payload(
            appointment_id, "2030-01-20T10:00:00Z", "2030-01-20T10:30:00Z", "2030-01-05T09:00:00Z"
        ),
    )


def rejected(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT appointment_id, event_type, reason FROM core.rejected_booking_events ORDER BY ALL"
    ).fetchall()


def appointment_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    sql = "SELECT appointment_id FROM core.appointments ORDER BY appointment_id"
    return [row[0] for row in con.execute(sql).fetchall()]


@pytest.mark.parametrize("case", CASES)
def test_an_event_that_cannot_form_a_row_is_held_until_the_api_lists_its_appointment(
    con: duckdb.DuckDBPyConnection, case: str
) -> None:
    add_listed_appointment(con, "apt-listed")
    event_type, _, reason = CASES[case]
    add_event(con, bad_body(case, "apt-ghost", "2030-01-10T08:00:00Z"), "2030-01-10T08:00:02Z")

    build_core(con)

    assert check_non_null_keys(con, "core.appointments", KEY_COLUMNS).passed
    assert appointment_ids(con) == ["apt-listed"]
    (row,) = con.execute(
        "SELECT r.event_key = e.event_key, r.appointment_id, r.event_type, r.received_at, "
        "r.reason FROM core.rejected_booking_events AS r, raw.webhook_events AS e"
    ).fetchall()
    assert row == (True, "apt-ghost", event_type, ts("2030-01-10T08:00:02Z"), reason)
    warning = check_no_rejected_booking_events(con)
    assert (warning.passed, warning.severity) == (False, "WARN")
    assert warning.metadata["events_by_reason"] == {reason: 1}
    assert warning.metadata["sample_appointment_ids"] == ["apt-ghost"]
    assert reason in warning.description

    # The API lists the appointment: its read supplies the start, the quarantine clears.
    add_listed_appointment(con, "apt-ghost")
    build_core(con)

    assert rejected(con) == []
    assert appointment_ids(con) == ["apt-ghost", "apt-listed"]
    assert check_non_null_keys(con, "core.appointments", KEY_COLUMNS).passed
    assert check_no_rejected_booking_events(con).passed


@pytest.mark.parametrize(
    ("start", "reason"),
    [(None, NO_START), (1735689600, A_NUMBER), ({"at": "2030-01-20T10:00:00Z"}, AN_OBJECT)],
    ids=["null", "number", "object"],
)
def test_the_reason_names_the_kind_of_start_field(
    con: duckdb.DuckDBPyConnection, start: object, reason: str
) -> None:
    body = {"webhookType": "booking_created", "id": "apt-ghost", "start": start}
    add_event(con, body, received_at="2030-01-10T08:00:02Z")

    build_core(con)

    assert rejected(con) == [("apt-ghost", "booking_created", reason)]


def test_one_event_with_a_start_lets_the_appointment_form_a_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A cancellation without start, then the creation with one: a webhook-only row."""
    cancel = bad_body("legacy cancel without start", "apt-new", "2030-01-10T09:00:00Z")
    add_event(con, cancel, received_at="2030-01-10T09:00:01Z")
    created = {
        "webhookType": "booking_created",
        "id": "apt-new",
        "createdAt": "2030-01-10T08:00:00Z",
        "start": "not a date",
    }
    add_event(con, created, received_at="2030-01-10T09:00:02Z")
    rescheduled = {
        "webhookType": "booking_rescheduled",
        "id": "apt-new",
        "rescheduledAt": "2030-01-10T08:30:00Z",
        "start": "2030-01-21T10:00:00Z",
    }
    add_event(con, rescheduled, received_at="2030-01-10T09:00:03Z")

    build_core(con)

    assert rejected(con) == []
    assert con.execute(
        "SELECT status, source, start_at, created_at FROM core.appointments"
    ).fetchall() == [
        ("cancelled", "webhook", ts("2030-01-21T10:00:00Z"), ts("2030-01-10T08:00:00Z"))
    ]
    assert check_no_rejected_booking_events(con).passed


def test_a_listed_appointment_is_never_rejected_whatever_its_events_carry(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_listed_appointment(con, "apt-listed")
    for case in CASES:
        body = bad_body(case, "apt-listed", "2030-01-10T08:00:00Z")
        add_event(con, body, received_at="2030-01-10T08:00:02Z")
    out_of_range = {
        "webhookType": "booking_created",
        "id": "apt-listed",
        "createdAt": "infinity",
        "start": "2030-01-20T11:00:00Z",
    }
    add_event(con, out_of_range, received_at="2030-01-10T08:00:03Z")

    build_core(con)

    assert rejected(con) == []
    assert con.execute(
        "SELECT appointment_id, status, start_at, created_at FROM core.appointments"
    ).fetchall() == [
        ("apt-listed", "cancelled", ts("2030-01-20T11:00:00Z"), ts("2030-01-05T09:00:00Z"))
    ]


@pytest.mark.parametrize("created_at", ["infinity", "-infinity", "294247-01-10T04:00:54Z"])
def test_a_creation_time_the_billing_marts_cannot_cut_is_rejected(
    con: duckdb.DuckDBPyConnection, created_at: str
) -> None:
    """An API-platform host's webhook-only booking made 'at infinity' would stop analytics."""
    new_employee = {"webhookType": "new_employee", "id": "user-api", "userType": "api-platform"}
    add_event(con, new_employee, received_at="2030-01-01T00:00:00Z")
    body = {
        "webhookType": "booking_created",
        "id": "apt-far",
        "createdAt": created_at,
        "start": "2030-01-20T10:00:00Z",
        "hostIds": ["user-api"],
    }
    add_event(con, body, received_at="2030-01-10T08:00:02Z")
    fine = {**body, "id": "apt-fine", "createdAt": "2030-01-10T08:00:00Z"}
    add_event(con, fine, received_at="2030-01-10T08:00:03Z")

    build_core(con)
    build_analytics(con, TransformSettings(), now=datetime(2030, 1, 15, tzinfo=UTC))

    assert rejected(con) == [("apt-far", "booking_created", CREATED_OUT_OF_RANGE)]
    assert appointment_ids(con) == ["apt-fine"]
    assert con.execute("SELECT appointment_id FROM analytics.metered_bookings").fetchall() == [
        ("apt-fine",)
    ]


ODD_TIMES: list[object] = [
    None,
    "",
    0,
    1735689600,
    True,
    [],
    {},
    "not a date",
    "infinity",
    "-infinity",
    "294247-01-10T04:00:54Z",
    "2030-01-20T10:00:00Z",
]


def test_no_webhook_input_alone_trips_a_blocking_check_or_stops_the_marts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Every start x createdAt x type x shape, once about its own appointment, once about one
    the API lists: the key and unique checks pass and the marts build."""
    add_listed_appointment(con, "apt-listed")
    host = {"webhookType": "new_employee", "id": "user-api", "userType": "api-platform"}
    deliveries: list[Delivery] = [(host, "2030-01-01T00:00:00Z")]
    for n, (start, created_at, event_type, legacy) in enumerate(
        itertools.product(ODD_TIMES, ODD_TIMES, BOOKING_EVENT_TYPES, (False, True))
    ):
        fields = {"start": start, "createdAt": created_at, "hostIds": ["user-api"]}
        for appointment_id in (f"apt-{n}", "apt-listed"):
            if legacy:
                body = {"event": event_type, "data": {"appointmentId": appointment_id, **fields}}
            else:
                body = {"webhookType": event_type, "id": appointment_id, **fields}
            deliveries.append((body, "2030-01-10T08:00:00Z"))
    ingest_deliveries(con, deliveries)

    counts = build_core(con)
    build_analytics(con, TransformSettings(), now=datetime(2030, 1, 15, tzinfo=UTC))

    assert check_non_null_keys(con, "core.appointments", KEY_COLUMNS).passed
    for table, key in [
        ("core.appointments", "appointment_id"),
        ("core.rejected_booking_events", "event_key"),
        ("analytics.metered_bookings", "appointment_id"),
    ]:
        assert check_unique_ids(con, table, key).passed, table
    held = {row[0] for row in rejected(con)}
    formed = set(appointment_ids(con))
    assert "apt-listed" in formed and "apt-listed" not in held
    assert held and not held & formed
    assert len(held | formed) == 1 + len(deliveries) // 2
    assert counts["core.booking_events"] == len(deliveries) - 1


def test_no_body_content_reaches_the_quarantine_or_the_check(
    con: duckdb.DuckDBPyConnection,
) -> None:
    secret_start = "call Quinn Private on +49 170 5550123"
    body = {
        "webhookType": "booking_created",
        "id": "apt-ghost",
        "start": secret_start,
        "notes": "door code 4711",
        "attendees": [ATTENDEE],
    }
    add_event(con, body, received_at="2030-01-10T08:00:02Z")

    build_core(con)

    (row,) = con.execute("SELECT * FROM core.rejected_booking_events").fetchall()
    outcome = check_no_rejected_booking_events(con)
    shown = " ".join(map(str, row)) + outcome.description + str(outcome.metadata)
    for needle in ("Quinn", "Private", "5550123", "4711", "example.org", "call"):
        assert needle not in shown


def test_the_check_passes_when_nothing_is_held(con: duckdb.DuckDBPyConnection) -> None:
    add_listed_appointment(con, "apt-listed")
    build_core(con)
    outcome = check_no_rejected_booking_events(con)
    assert (outcome.passed, outcome.severity) == (True, "WARN")
    assert con.execute("SELECT count(*) FROM core.rejected_booking_events").fetchone() == (0,)
