"""The analysts' marts: bookings (host-local start, lead time, cancellations, first start),
co-hosts, zero-filled daily and weekly volume, and host activity per month.

Hand-built raw rows and webhook events (support/raw_rows.py) on real DuckDB files, through
the real core and analytics builds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb

from meetergo_pipeline.transform import (
    TransformSettings,
    build_analytics,
    build_core,
    check_unique_ids,
)
from meetergo_pipeline_tests.support.raw_rows import (
    add_booking_at,
    add_event,
    add_host,
    add_meeting_type,
    appointment_payload,
    flat_event,
    ts,
)

NOW = datetime(2025, 4, 11, tzinfo=UTC)


def build(
    con: duckdb.DuckDBPyConnection, settings: TransformSettings | None = None
) -> dict[str, int]:
    build_core(con)
    return build_analytics(con, settings or TransformSettings(), now=NOW)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """The query's rows in ascending order of all columns (tables keep no row order)."""
    return con.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").fetchall()


# --- analytics.bookings: local start, lead time, cancellation -------------------------------


def test_start_is_shown_in_the_hosts_time_zone_else_the_reporting_one(con):
    add_host(con, "host-berlin", "Bea Berlin", "Europe/Berlin")
    add_host(con, "host-ny", "Ned York", "America/New_York")
    add_host(con, "host-nozone", "Nora None", None)
    add_host(con, "host-mars", "Mo Mars", "Mars/Olympus_Mons")
    add_meeting_type(con, "mt-1", "host-berlin", name="Demo")
    # 23:30 UTC on Friday 14 March 2025: Saturday 00:30 in Berlin (CET), Friday 19:30 in New
    # York (EDT since 9 March), Saturday 08:30 in Tokyo (the reporting zone)
    for appointment_id, host in [
        ("apt-berlin", "host-berlin"),
        ("apt-ny", "host-ny"),
        ("apt-nozone", "host-nozone"),
        ("apt-mars", "host-mars"),
        ("apt-nohost", None),
    ]:
        add_booking_at(
            con, appointment_id, "2025-03-10T12:00:00Z", "2025-03-14T23:30:00Z", host=host
        )

    build(con, TransformSettings(reporting_timezone="Asia/Tokyo"))

    assert rows(
        con,
        "SELECT appointment_id, host_name, meeting_type_name, local_timezone, start_local, "
        "start_weekday, start_hour, lead_time_hours FROM analytics.bookings",
    ) == [
        (
            "apt-berlin",
            "Bea Berlin",
            "Demo",
            "Europe/Berlin",
            datetime(2025, 3, 15, 0, 30),
            6,
            0,
            107.5,
        ),
        ("apt-mars", "Mo Mars", "Demo", "Asia/Tokyo", datetime(2025, 3, 15, 8, 30), 6, 8, 107.5),
        ("apt-nohost", None, "Demo", "Asia/Tokyo", datetime(2025, 3, 15, 8, 30), 6, 8, 107.5),
        (
            "apt-nozone",
            "Nora None",
            "Demo",
            "Asia/Tokyo",
            datetime(2025, 3, 15, 8, 30),
            6,
            8,
            107.5,
        ),
        (
            "apt-ny",
            "Ned York",
            "Demo",
            "America/New_York",
            datetime(2025, 3, 14, 19, 30),
            5,
            19,
            107.5,
        ),
    ]


def test_who_cancelled_is_mapped_and_the_notice_measured(con):
    add_host(con, "u-1", "Ada Lovelace")
    add_meeting_type(con, "mt-1", "u-1")
    start = "2025-03-20T10:00:00Z"
    for appointment_id, source in [
        ("apt-attendee", "attendee"),
        ("apt-host", "Host"),
        ("apt-api", "api"),
        ("apt-guest", "guest"),
        ("apt-other", "calendar-sync"),
        ("apt-unsaid", None),
    ]:
        add_booking_at(
            con,
            appointment_id,
            "2025-03-01T10:00:00Z",
            start,
            updated_at="2025-03-19T22:00:00Z",
            cancelled_at="2025-03-19T22:00:00Z",
            cancel_source=source,
        )
    add_booking_at(
        con,
        "apt-late",
        "2025-03-01T10:00:00Z",
        start,
        updated_at="2025-03-20T10:30:00Z",
        cancelled_at="2025-03-20T10:30:00Z",
        cancel_source="attendee",
    )
    add_booking_at(con, "apt-kept", "2025-03-01T10:00:00Z", start)
    # confirmed in the last API read, cancelled by the host in a newer webhook
    by_webhook = add_booking_at(
        con, "apt-webhook", "2025-03-01T10:00:00Z", start, updated_at="2025-03-18T00:00:00Z"
    )
    add_event(
        con,
        flat_event(
            "booking_cancelled",
            by_webhook,
            isCancelled=True,
            cancel={"actionSource": "host", "actionAt": "2025-03-19T16:00:00Z", "actionBy": "u-1"},
        ),
        received_at="2025-03-19T16:00:02Z",
    )

    build(con)

    assert rows(
        con,
        "SELECT b.appointment_id, b.status, a.cancel_source, b.cancelled_by, "
        "b.cancel_notice_hours FROM analytics.bookings AS b "
        "JOIN core.appointments AS a USING (appointment_id)",
    ) == [
        ("apt-api", "cancelled", "api", "api", 12.0),
        ("apt-attendee", "cancelled", "attendee", "attendee", 12.0),
        ("apt-guest", "cancelled", "guest", "attendee", 12.0),
        ("apt-host", "cancelled", "Host", "host", 12.0),
        ("apt-kept", "confirmed", None, None, None),
        ("apt-late", "cancelled", "attendee", "attendee", -0.5),
        ("apt-other", "cancelled", "calendar-sync", None, 12.0),
        ("apt-unsaid", "cancelled", None, None, 12.0),
        ("apt-webhook", "cancelled", "host", "host", 18.0),
    ]


def test_original_start_is_the_first_start_seen(con):
    add_host(con, "u-1", "Ada Lovelace")
    add_meeting_type(con, "mt-1", "u-1")
    add_booking_at(con, "apt-never-moved", "2025-03-01T10:00:00Z", "2025-03-21T10:00:00Z")
    # the pipeline's first read (15 March) showed 21 March; the latest shows 25 March
    add_booking_at(
        con,
        "apt-moved-between-reads",
        "2025-03-01T10:00:00Z",
        "2025-03-25T10:00:00Z",
        updated_at="2025-03-18T09:00:00Z",
        rescheduled_at="2025-03-18T09:00:00Z",
        reschedule_count=1,
        first_start="2025-03-21T10:00:00Z",
        first_read_at="2025-03-15T06:00:00Z",
    )
    # moved before the first read: the reschedule webhook tells the start before it
    moved = add_booking_at(
        con,
        "apt-moved-before-first-read",
        "2025-03-01T10:00:00Z",
        "2025-03-27T10:00:00Z",
        updated_at="2025-03-12T09:00:00Z",
        rescheduled_at="2025-03-12T09:00:00Z",
        reschedule_count=1,
    )
    add_event(
        con,
        flat_event("booking_rescheduled", moved, previousStart="2025-03-24T10:00:00Z"),
        received_at="2025-03-12T09:00:01Z",
    )
    # known only from webhooks: created for 22 March, moved to 23 March, then to 24 March
    created = appointment_payload(
        "apt-webhook-only",
        "2025-03-22T10:00:00Z",
        "2025-03-22T10:30:00Z",
        "2025-03-10T08:00:00Z",
        host="u-1",
    )
    add_event(con, flat_event("booking_created", created), received_at="2025-03-10T08:00:01Z")
    for day, previous_day in [(23, 22), (24, 23)]:
        add_event(
            con,
            flat_event(
                "booking_rescheduled",
                created,
                start=f"2025-03-{day}T10:00:00Z",
                end=f"2025-03-{day}T10:30:00Z",
                previousStart=f"2025-03-{previous_day}T10:00:00Z",
                rescheduledAt=f"2025-03-{day - 12}T08:00:00Z",
                rescheduleCount=day - 22,
            ),
            received_at=f"2025-03-{day - 12}T08:00:01Z",
        )

    build(con)

    assert rows(
        con,
        "SELECT appointment_id, start_at, original_start_at, reschedule_count "
        "FROM analytics.bookings",
    ) == [
        ("apt-moved-before-first-read", ts("2025-03-27T10:00:00Z"), ts("2025-03-24T10:00:00Z"), 1),
        ("apt-moved-between-reads", ts("2025-03-25T10:00:00Z"), ts("2025-03-21T10:00:00Z"), 1),
        ("apt-never-moved", ts("2025-03-21T10:00:00Z"), ts("2025-03-21T10:00:00Z"), 0),
        ("apt-webhook-only", ts("2025-03-24T10:00:00Z"), ts("2025-03-22T10:00:00Z"), 2),
    ]


# --- co-hosts --------------------------------------------------------------------------------


def test_co_hosts_each_get_a_row_and_are_counted(con):
    for user_id, name in [("u-a", "Ann A"), ("u-b", "Ben B"), ("u-c", "Cid C")]:
        add_host(con, user_id, name)
    add_meeting_type(con, "mt-1", "u-a")
    created, start = "2025-03-01T10:00:00Z", "2025-03-20T10:00:00Z"
    add_booking_at(con, "apt-solo", created, start, host="u-a")
    add_booking_at(con, "apt-team", created, start, host="u-a", host_ids=["u-a", "u-b", "u-c"])
    add_booking_at(con, "apt-main-second", created, start, host="u-b", host_ids=["u-a", "u-b"])
    add_booking_at(
        con, "apt-repeated-id", created, start, host="u-c", host_ids=["u-c", "u-c", "u-a"]
    )
    add_booking_at(con, "apt-no-main-host", created, start, host=None, host_ids=["u-b", "u-c"])
    # known only from a webhook: its host is the one the event names
    webhook_only = appointment_payload(
        "apt-webhook", start, "2025-03-20T10:30:00Z", created, host="u-c", host_ids=["u-c", "u-a"]
    )
    add_event(con, flat_event("booking_created", webhook_only), received_at=created)

    build(con)

    assert rows(con, "SELECT * EXCLUDE (tenant_id) FROM core.appointment_hosts") == [
        ("apt-main-second", "u-a", False),
        ("apt-main-second", "u-b", True),
        ("apt-no-main-host", "u-b", True),
        ("apt-no-main-host", "u-c", False),
        ("apt-repeated-id", "u-a", False),
        ("apt-repeated-id", "u-c", True),
        ("apt-solo", "u-a", True),
        ("apt-team", "u-a", True),
        ("apt-team", "u-b", False),
        ("apt-team", "u-c", False),
        ("apt-webhook", "u-c", True),
    ]
    assert rows(
        con, "SELECT appointment_id, host_user_id, co_host_count FROM analytics.bookings"
    ) == [
        ("apt-main-second", "u-b", 1),
        ("apt-no-main-host", "u-b", 1),
        ("apt-repeated-id", "u-c", 1),
        ("apt-solo", "u-a", 0),
        ("apt-team", "u-a", 2),
        ("apt-webhook", "u-c", 0),
    ]
    assert check_unique_ids(con, "core.appointment_hosts", ("appointment_id", "user_id")).passed
    con.execute("CREATE TABLE main.hosts_copy AS FROM core.appointment_hosts")
    con.execute("INSERT INTO main.hosts_copy VALUES ('default', 'apt-team', 'u-b', true)")
    duplicated = check_unique_ids(con, "main.hosts_copy", ["appointment_id", "user_id"])
    assert not duplicated.passed
    assert duplicated.metadata["sample"] == ["(apt-team, u-b)"]
    assert "(appointment_id, user_id)" in duplicated.description


# --- zero-filled volume ----------------------------------------------------------------------


def seed_two_meeting_types(con: duckdb.DuckDBPyConnection) -> None:
    add_host(con, "u-1", "Ada Lovelace")
    add_meeting_type(con, "mt-a", "u-1", name="Alpha")
    add_meeting_type(con, "mt-b", "u-1", name="Beta")
    # Monday 3 March and Tuesday 18 March; nothing in the week of 10 March
    add_booking_at(
        con, "apt-a", "2025-03-03T09:00:00Z", "2025-03-04T09:00:00Z", meeting_type_id="mt-a"
    )
    add_booking_at(
        con, "apt-b", "2025-03-18T09:00:00Z", "2025-03-19T09:00:00Z", meeting_type_id="mt-b"
    )


def test_weeks_and_days_without_bookings_appear_with_zeros(con):
    seed_two_meeting_types(con)

    build(con)

    assert rows(con, "SELECT * EXCLUDE (tenant_id) FROM analytics.booking_volume_weekly") == [
        (date(2025, 3, 3), "mt-a", "Alpha", 1, 0, 0, 1),
        (date(2025, 3, 3), "mt-b", "Beta", 0, 0, 0, 0),
        (date(2025, 3, 10), "mt-a", "Alpha", 0, 0, 0, 0),
        (date(2025, 3, 10), "mt-b", "Beta", 0, 0, 0, 0),
        (date(2025, 3, 17), "mt-a", "Alpha", 0, 0, 0, 0),
        (date(2025, 3, 17), "mt-b", "Beta", 1, 0, 0, 1),
    ]
    # 3 to 19 March (first and last day with activity) for each of the two pairs
    assert rows(
        con,
        "SELECT count(*), count(DISTINCT day), min(day), max(day), sum(bookings_created), "
        "sum(meetings_scheduled) FROM analytics.booking_volume_daily",
    ) == [(34, 17, date(2025, 3, 3), date(2025, 3, 19), 2, 2)]
    assert rows(
        con,
        "SELECT * EXCLUDE (tenant_id) FROM analytics.booking_volume_daily WHERE day = '2025-03-10'",
    ) == [
        (date(2025, 3, 10), "mt-a", "Alpha", "u-1", "Ada Lovelace", 0, 0, 0, 0),
        (date(2025, 3, 10), "mt-b", "Beta", "u-1", "Ada Lovelace", 0, 0, 0, 0),
    ]


def test_weeks_are_cut_in_the_reporting_time_zone(con):
    seed_two_meeting_types(con)
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the booking moves to the next week
    add_booking_at(
        con, "apt-sunday", "2025-03-09T23:30:00Z", "2025-03-20T09:00:00Z", meeting_type_id="mt-a"
    )

    build(con)
    utc = rows(
        con,
        "SELECT week_start, bookings_created FROM analytics.booking_volume_weekly "
        "WHERE meeting_type_id = 'mt-a'",
    )
    build(con, TransformSettings(reporting_timezone="Europe/Berlin"))
    berlin = rows(
        con,
        "SELECT week_start, bookings_created FROM analytics.booking_volume_weekly "
        "WHERE meeting_type_id = 'mt-a'",
    )

    assert utc == [(date(2025, 3, 3), 2), (date(2025, 3, 10), 0), (date(2025, 3, 17), 0)]
    assert berlin == [(date(2025, 3, 3), 1), (date(2025, 3, 10), 1), (date(2025, 3, 17), 0)]


# --- host activity ---------------------------------------------------------------------------


def test_host_activity_counts_co_hosts_rates_and_median_lead_time(con):
    add_host(con, "u-1", "Ada Lovelace")
    add_host(con, "u-2", "Bob Builder")
    add_host(con, "u-3", "Cleo Cut")
    add_meeting_type(con, "mt-1", "u-1")
    # u-1's March: lead times 10, 20, 30 and 40 hours; one cancelled, one rescheduled
    add_booking_at(con, "m1", "2025-03-01T00:00:00Z", "2025-03-01T10:00:00Z", host="u-1")
    add_booking_at(
        con,
        "m2",
        "2025-03-02T00:00:00Z",
        "2025-03-02T20:00:00Z",
        host="u-1",
        updated_at="2025-03-02T05:00:00Z",
        cancelled_at="2025-03-02T05:00:00Z",
    )
    add_booking_at(
        con,
        "m3",
        "2025-03-03T00:00:00Z",
        "2025-03-04T06:00:00Z",
        host="u-1",
        host_ids=["u-1", "u-2"],
        updated_at="2025-03-03T01:00:00Z",
        rescheduled_at="2025-03-03T01:00:00Z",
        reschedule_count=1,
    )
    add_booking_at(con, "m4", "2025-03-04T00:00:00Z", "2025-03-05T16:00:00Z", host="u-1")
    add_booking_at(con, "a1", "2025-04-01T10:00:00Z", "2025-04-02T10:00:00Z", host="u-2")
    # 28 February 23:30 UTC is 1 March in Berlin
    add_booking_at(con, "f1", "2025-02-28T23:30:00Z", "2025-03-01T09:30:00Z", host="u-3")

    build(con)
    assert rows(con, "SELECT * EXCLUDE (tenant_id) FROM analytics.host_activity_monthly") == [
        (date(2025, 2, 1), "u-3", "Cleo Cut", 1, 0, 0, 0.0, 0, 0.0, 10.0),
        (date(2025, 3, 1), "u-1", "Ada Lovelace", 4, 0, 1, 0.25, 1, 0.25, 25.0),
        (date(2025, 3, 1), "u-2", "Bob Builder", 1, 1, 0, 0.0, 1, 1.0, 30.0),
        (date(2025, 4, 1), "u-2", "Bob Builder", 1, 0, 0, 0.0, 0, 0.0, 24.0),
    ]

    build(con, TransformSettings(reporting_timezone="Europe/Berlin"))
    assert rows(
        con, "SELECT month, host_user_id, bookings FROM analytics.host_activity_monthly"
    ) == [
        (date(2025, 3, 1), "u-1", 4),
        (date(2025, 3, 1), "u-2", 1),
        (date(2025, 3, 1), "u-3", 1),
        (date(2025, 4, 1), "u-2", 1),
    ]
