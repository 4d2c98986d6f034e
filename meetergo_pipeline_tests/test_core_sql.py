"""Core layer: latest-state merge of API reads and webhook events, on real DuckDB files."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from meetergo_pipeline.models import models_in
from meetergo_pipeline.transform import build_core
from meetergo_pipeline.transform import runner as transform_runner
from meetergo_pipeline_tests.support.raw_rows import (
    READ_AT,
    add_appointment,
    add_event,
    add_meeting_type,
    add_user,
    appointment_payload,
    flat_event,
    table_snapshot,
    ts,
    user_payload,
)


def appointment_row(con: duckdb.DuckDBPyConnection, appointment_id: str) -> dict[str, Any]:
    cursor = con.execute(
        "SELECT * FROM core.appointments WHERE appointment_id = $id", {"id": appointment_id}
    )
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, f"expected one row for {appointment_id}, got {len(rows)}"
    return dict(zip(names, rows[0], strict=True))


# --- latest-state merge ----------------------------------------------------------------------


def test_late_cancellation_by_webhook_cancels_without_reread(con):
    api = appointment_payload(
        "apt-1", "2025-03-10T10:00:00Z", "2025-03-10T10:30:00Z", "2025-03-01T09:00:00Z"
    )
    add_appointment(con, api)
    add_event(
        con,
        flat_event(
            "booking_cancelled",
            api,
            isCancelled=True,
            updatedAt="2025-03-05T12:00:00Z",
            cancel={"actionSource": "attendee", "actionAt": "2025-03-05T12:00:00Z"},
        ),
        received_at="2025-03-05T12:00:02Z",
    )

    counts = build_core(con)

    row = appointment_row(con, "apt-1")
    assert row["status"] == "cancelled"
    assert row["cancelled_at"] == ts("2025-03-05T12:00:00Z")
    assert row["updated_at"] == ts("2025-03-05T12:00:00Z")
    assert row["source"] == "api+webhook"
    assert row["start_at"] == ts("2025-03-10T10:00:00Z")
    assert counts["core.appointments"] == 1
    assert counts["core.booking_events"] == 1


def test_api_read_newer_than_event_wins(con):
    api = appointment_payload(
        "apt-1",
        "2025-03-12T10:00:00Z",
        "2025-03-12T10:30:00Z",
        "2025-03-01T09:00:00Z",
        updated_at="2025-03-06T08:00:00Z",
        rescheduled_at="2025-03-06T08:00:00Z",
        reschedule_count=2,
    )
    add_appointment(con, api)
    # an older reschedule (to the 11th) and an older cancellation the API no longer shows
    add_event(
        con,
        flat_event(
            "booking_rescheduled",
            api,
            start="2025-03-11T10:00:00Z",
            end="2025-03-11T10:30:00Z",
            rescheduledAt="2025-03-04T08:00:00Z",
        ),
        received_at="2025-03-04T08:00:01Z",
    )
    add_event(
        con,
        flat_event(
            "booking_cancelled",
            api,
            isCancelled=True,
            cancel={"actionAt": "2025-03-05T08:00:00Z"},
        ),
        received_at="2025-03-05T08:00:01Z",
    )

    build_core(con)

    row = appointment_row(con, "apt-1")
    assert row["status"] == "confirmed"
    assert row["cancelled_at"] is None
    assert row["start_at"] == ts("2025-03-12T10:00:00Z")
    assert row["rescheduled_at"] == ts("2025-03-06T08:00:00Z")
    assert row["reschedule_count"] == 2
    assert row["source"] == "api"


def test_newer_reschedule_event_moves_meeting_and_counts(con):
    api = appointment_payload(
        "apt-1",
        "2025-03-10T10:00:00Z",
        "2025-03-10T10:45:00Z",
        "2025-03-01T09:00:00Z",
        reschedule_count=1,
        rescheduled_at="2025-03-01T09:00:00Z",
    )
    add_appointment(con, api)
    # no end in the body: the 45-minute duration is kept
    body = flat_event(
        "booking_rescheduled",
        api,
        start="2025-03-14T15:00:00+01:00",
        previousStart="2025-03-10T10:00:00Z",
        rescheduledAt="2025-03-07T10:00:00Z",
    )
    del body["end"]
    add_event(con, body, received_at="2025-03-07T10:00:01Z")

    build_core(con)

    row = appointment_row(con, "apt-1")
    assert row["start_at"] == ts("2025-03-14T14:00:00Z")
    assert row["end_at"] == ts("2025-03-14T14:45:00Z")
    assert row["rescheduled_at"] == ts("2025-03-07T10:00:00Z")
    assert row["reschedule_count"] == 2
    assert row["status"] == "confirmed"
    assert row["source"] == "api+webhook"
    (previous_start,) = con.execute("SELECT previous_start_at FROM core.booking_events").fetchone()
    assert previous_start == ts("2025-03-10T10:00:00Z")


def test_event_only_appointment_is_included_as_webhook(con):
    body = flat_event(
        "booking_created",
        appointment_payload(
            "apt-new",
            "2025-03-21T09:00:00+01:00",
            "2025-03-21T09:30:00+01:00",
            "2025-03-20T07:15:00Z",
            host=None,
            host_ids=["user-7", "user-8"],
            meeting_type_id="mt-9",
            channel="phone",
        ),
    )
    add_event(con, body, received_at="2025-03-20T07:15:01Z")

    build_core(con)

    row = appointment_row(con, "apt-new")
    assert row["source"] == "webhook"
    assert row["status"] == "confirmed"
    assert row["host_user_id"] == "user-7"
    assert row["meeting_type_id"] == "mt-9"
    assert row["start_at"] == ts("2025-03-21T08:00:00Z")
    assert row["end_at"] == ts("2025-03-21T08:30:00Z")
    assert row["created_at"] == ts("2025-03-20T07:15:00Z")
    assert row["attendee_count"] == 1
    assert row["channel"] == "phone"
    assert row["last_api_read_at"] is None


def test_cancel_before_create_yields_cancelled_and_stays_cancelled(con):
    appointment = appointment_payload(
        "apt-ooo", "2025-03-22T10:00:00Z", "2025-03-22T11:00:00Z", "2025-03-20T10:00:00Z"
    )
    cancel = flat_event(
        "booking_cancelled",
        appointment,
        isCancelled=True,
        updatedAt="2025-03-20T10:05:00Z",
        cancel={"actionSource": "host", "actionAt": "2025-03-20T10:05:00Z"},
    )
    add_event(con, cancel, received_at="2025-03-20T10:05:01Z")
    add_event(con, flat_event("booking_created", appointment), received_at="2025-03-20T10:06:00Z")
    # a reschedule announced after the cancellation does not un-cancel
    add_event(
        con,
        flat_event(
            "booking_rescheduled",
            appointment,
            start="2025-03-23T10:00:00Z",
            end="2025-03-23T11:00:00Z",
            rescheduledAt="2025-03-20T10:07:00Z",
        ),
        received_at="2025-03-20T10:07:01Z",
    )

    build_core(con)

    row = appointment_row(con, "apt-ooo")
    assert row["status"] == "cancelled"
    assert row["cancelled_at"] == ts("2025-03-20T10:05:00Z")
    assert row["created_at"] == ts("2025-03-20T10:00:00Z")
    assert row["source"] == "webhook"
    assert row["reschedule_count"] == 1


def test_api_cancellation_is_sticky_against_later_events(con):
    api = appointment_payload(
        "apt-1",
        "2025-03-10T10:00:00Z",
        "2025-03-10T10:30:00Z",
        "2025-03-01T09:00:00Z",
        updated_at="2025-03-02T09:00:00Z",
        cancelled_at="2025-03-02T09:00:00Z",
    )
    add_appointment(con, api)
    add_event(
        con,
        flat_event(
            "booking_rescheduled",
            api,
            isCancelled=False,
            cancel=None,
            start="2025-03-11T10:00:00Z",
            end="2025-03-11T10:30:00Z",
            rescheduledAt="2025-03-03T09:00:00Z",
        ),
        received_at="2025-03-03T09:00:01Z",
    )

    build_core(con)

    row = appointment_row(con, "apt-1")
    assert row["status"] == "cancelled"
    assert row["cancelled_at"] == ts("2025-03-02T09:00:00Z")


def test_legacy_envelope_events_are_read(con):
    api = appointment_payload(
        "apt-1", "2025-03-10T10:00:00Z", "2025-03-10T10:30:00Z", "2025-03-01T09:00:00Z"
    )
    add_appointment(con, api)
    add_event(
        con,
        {
            "event": "booking.cancelled",
            "timestamp": "2025-03-04T10:30:00Z",
            "data": {
                "appointmentId": "apt-1",
                "meetingTypeId": "mt-1",
                "start": "2025-03-10T10:00:00Z",
                "end": "2025-03-10T10:30:00Z",
                "attendee": {"email": "jane@example.com", "firstname": "Jane", "lastname": "Doe"},
            },
        },
        received_at="2025-03-04T10:30:03Z",
    )
    add_event(
        con,
        {
            "event": "booking_created",
            "timestamp": "2025-03-04T11:00:00Z",
            "data": {
                "appointmentId": "apt-legacy",
                "meetingTypeId": "mt-2",
                "start": "2025-03-12T10:00:00Z",
                "end": "2025-03-12T10:30:00Z",
                "attendee": {"email": "joe@example.com", "firstname": "Joe", "lastname": "Roe"},
            },
        },
        received_at="2025-03-04T11:00:02Z",
    )

    build_core(con)

    events = con.execute(
        "SELECT appointment_id, event_type, occurred_at, payload_format, cancelled_at "
        "FROM core.booking_events ORDER BY occurred_at"
    ).fetchall()
    assert events == [
        (
            "apt-1",
            "booking_cancelled",
            ts("2025-03-04T10:30:00Z"),
            "legacy",
            ts("2025-03-04T10:30:00Z"),
        ),
        ("apt-legacy", "booking_created", ts("2025-03-04T11:00:00Z"), "legacy", None),
    ]
    cancelled = appointment_row(con, "apt-1")
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == ts("2025-03-04T10:30:00Z")
    created = appointment_row(con, "apt-legacy")
    assert created["source"] == "webhook"
    assert created["created_at"] == ts("2025-03-04T11:00:00Z")
    assert created["meeting_type_id"] == "mt-2"
    assert created["attendee_count"] == 1


def test_event_without_a_source_time_is_ordered_by_its_receipt(con):
    """A body with no time of its own occurred when it was received (the ingest's fallback)."""
    api = appointment_payload(
        "apt-1",
        "2025-03-10T10:00:00Z",
        "2025-03-10T10:30:00Z",
        "2025-03-01T09:00:00Z",
        updated_at="2025-03-03T00:00:00Z",
    )
    add_appointment(con, api)
    body = {"webhookType": "booking_cancelled", "id": "apt-1", "isCancelled": True}
    add_event(con, body, received_at="2025-03-03T00:00:05Z")

    build_core(con)

    row = appointment_row(con, "apt-1")
    assert (row["status"], row["cancelled_at"]) == ("cancelled", ts("2025-03-03T00:00:05Z"))
    (occurred_at,) = con.execute("SELECT occurred_at FROM core.booking_events").fetchone()
    assert occurred_at == ts("2025-03-03T00:00:05Z")


# --- field mapping -----------------------------------------------------------------------------


def test_host_falls_back_to_first_host_id(con):
    add_appointment(
        con,
        appointment_payload(
            "apt-main",
            "2025-03-10T10:00:00Z",
            "2025-03-10T10:30:00Z",
            "2025-03-01T09:00:00Z",
            host="user-2",
            host_ids=["user-1", "user-2"],
        ),
    )
    add_appointment(
        con,
        appointment_payload(
            "apt-fallback",
            "2025-03-10T10:00:00Z",
            "2025-03-10T10:30:00Z",
            "2025-03-01T09:00:00Z",
            host=None,
            host_ids=["user-3", "user-4"],
        ),
    )

    build_core(con)

    assert appointment_row(con, "apt-main")["host_user_id"] == "user-2"
    assert appointment_row(con, "apt-fallback")["host_user_id"] == "user-3"


def test_z_and_offset_timestamps_are_the_same_instant(con):
    add_appointment(
        con,
        appointment_payload(
            "apt-z", "2025-03-10T09:00:00.000Z", "2025-03-10T09:30:00Z", "2025-03-01T09:00:00Z"
        ),
    )
    add_appointment(
        con,
        appointment_payload(
            "apt-offset",
            "2025-03-10T10:00:00+01:00",
            "2025-03-10T10:30:00+01:00",
            "2025-03-01T10:00:00+01:00",
        ),
    )

    build_core(con)

    rows = con.execute(
        "SELECT DISTINCT start_at, end_at, created_at FROM core.appointments"
    ).fetchall()
    assert rows == [
        (ts("2025-03-10T09:00:00Z"), ts("2025-03-10T09:30:00Z"), ts("2025-03-01T09:00:00Z"))
    ]


def test_cancel_markers_either_way(con):
    add_appointment(
        con,
        appointment_payload(
            "apt-flag-only",
            "2025-03-10T10:00:00Z",
            "2025-03-10T10:30:00Z",
            "2025-03-01T09:00:00Z",
            updated_at="2025-03-02T09:00:00Z",
            is_cancelled=True,
        ),
    )
    add_appointment(
        con,
        appointment_payload(
            "apt-action-only",
            "2025-03-10T10:00:00Z",
            "2025-03-10T10:30:00Z",
            "2025-03-01T09:00:00Z",
            updated_at="2025-03-03T09:00:00Z",
            cancelled_at="2025-03-03T08:59:00Z",
            is_cancelled=False,
        ),
    )

    build_core(con)

    flag_only = appointment_row(con, "apt-flag-only")
    assert (flag_only["status"], flag_only["cancelled_at"]) == (
        "cancelled",
        ts("2025-03-02T09:00:00Z"),
    )
    action_only = appointment_row(con, "apt-action-only")
    assert (action_only["status"], action_only["cancelled_at"]) == (
        "cancelled",
        ts("2025-03-03T08:59:00Z"),
    )


def test_users_and_meeting_types(con):
    add_user(con, user_payload("user-1", "ada@example.com", user_type="api-platform"))
    add_user(con, user_payload("user-2", "bob@example.com", given_name="Bob", family_name="B"))
    add_meeting_type(con, "mt-1", "user-1", name="Demo", duration=45, channel="google")
    # new_employee for a user the API has not listed yet, and one for a known user
    add_event(
        con,
        {
            "webhookType": "new_employee",
            "id": "user-9",
            "email": "neo@example.com",
            "givenName": "Neo",
            "familyName": "Anderson",
            "userType": "api-platform",
            "createdAt": "2025-03-19T08:00:00Z",
        },
        received_at="2025-03-19T08:00:01Z",
    )
    add_event(
        con,
        {"webhookType": "new_employee", "id": "user-2", "email": "stale@example.com"},
        received_at="2025-03-19T09:00:01Z",
    )

    counts = build_core(con)

    users = con.execute(
        "SELECT user_id, email, full_name, user_type, timezone, is_admin, created_at, source "
        "FROM core.users ORDER BY user_id"
    ).fetchall()
    assert users == [
        (
            "user-1",
            "ada@example.com",
            "Ada Lovelace",
            "api-platform",
            "Europe/Berlin",
            False,
            ts("2025-01-02T08:00:00Z"),
            "api",
        ),
        (
            "user-2",
            "bob@example.com",
            "Bob B",
            "standard",
            "Europe/Berlin",
            False,
            ts("2025-01-02T08:00:00Z"),
            "api",
        ),
        (
            "user-9",
            "neo@example.com",
            "Neo Anderson",
            "api-platform",
            None,
            None,
            ts("2025-03-19T08:00:00Z"),
            "webhook",
        ),
    ]
    assert counts["core.users"] == 3
    assert counts["core.booking_events"] == 0
    meeting_types = con.execute(
        "SELECT meeting_type_id, user_id, name, duration_minutes, channel, spots, created_at, "
        "deleted_at FROM core.meeting_types"
    ).fetchall()
    assert meeting_types == [
        ("mt-1", "user-1", "Demo", 45, "google", 1, ts("2025-01-03T09:00:00Z"), None)
    ]


def test_api_users_with_the_older_name_fields_get_their_names(con):
    older = {"id": "user-old", "email": "old@example.com", "firstname": "Olga", "lastname": "Alt"}
    add_user(con, {**older, "updatedAt": None})
    camel = user_payload("user-camel", "cam@example.com", firstName="Carl", lastName="Camel")
    for field in ("givenName", "familyName", "fullName"):
        camel[field] = "" if field == "givenName" else None
    add_user(con, camel)
    add_user(con, user_payload("user-live", "live@example.com", firstname="Ignored"))

    build_core(con)

    assert con.execute(
        "SELECT user_id, given_name, family_name, full_name FROM core.users ORDER BY user_id"
    ).fetchall() == [
        ("user-camel", "Carl", "Camel", "Carl Camel"),
        ("user-live", "Ada", "Lovelace", "Ada Lovelace"),
        ("user-old", "Olga", "Alt", "Olga Alt"),
    ]


def test_new_employee_in_legacy_envelope(con):
    add_event(
        con,
        {
            "event": "new_employee",
            "timestamp": "2025-03-19T08:00:00Z",
            "data": {"userId": "user-5", "email": "eve@example.com", "fullName": "Eve E"},
        },
        received_at="2025-03-19T08:00:01Z",
    )

    build_core(con)

    assert con.execute("SELECT user_id, email, full_name, source FROM core.users").fetchall() == [
        ("user-5", "eve@example.com", "Eve E", "webhook")
    ]


# --- build behaviour ---------------------------------------------------------------------------


def seed_mixed(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, user_payload("user-1", "ada@example.com"))
    add_meeting_type(con, "mt-1", "user-1")
    api = appointment_payload(
        "apt-1", "2025-03-10T10:00:00Z", "2025-03-10T10:30:00Z", "2025-03-01T09:00:00Z"
    )
    add_appointment(con, api)
    add_event(
        con,
        flat_event("booking_cancelled", api, isCancelled=True, cancel={"actionAt": READ_AT}),
        received_at=READ_AT,
    )


def test_rebuild_is_idempotent(con):
    seed_mixed(con)

    first = build_core(con)
    core_tables = [model.table for model in models_in("core")]
    snapshots = {table: table_snapshot(con, table) for table in core_tables}
    second = build_core(con)

    assert first == second
    assert set(first) == set(core_tables)
    assert {table: table_snapshot(con, table) for table in core_tables} == snapshots


def test_every_core_table_and_column_is_commented(con):
    build_core(con)

    missing = con.execute(
        """
        SELECT table_name || coalesce('.' || column_name, '') FROM (
            SELECT table_name, NULL AS column_name, comment FROM duckdb_tables()
            WHERE schema_name = 'core'
            UNION ALL
            SELECT table_name, column_name, comment FROM duckdb_columns()
            WHERE schema_name = 'core'
        ) WHERE comment IS NULL OR length(comment) < 10
        """
    ).fetchall()
    assert missing == []


def test_failed_build_rolls_back_and_restores_time_zone(con, monkeypatch):
    seed_mixed(con)
    build_core(con)
    before = table_snapshot(con, "core.users")
    con.execute("SET TimeZone = 'America/New_York'")
    original = transform_runner.load_sql

    def broken_appointments(relative_path: str, **fills: str) -> str:
        if relative_path == "core/appointments.sql":
            return "CREATE OR REPLACE TABLE core.appointments AS SELECT nope FROM raw.users"
        return original(relative_path, **fills)

    monkeypatch.setattr(transform_runner, "load_sql", broken_appointments)
    con.execute("DELETE FROM raw.users")

    with pytest.raises(duckdb.Error):
        build_core(con)

    assert table_snapshot(con, "core.users") == before
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("America/New_York",)
