"""Exact metering: the predicate over the meeting type (mt) and the notes (n), the file of
appointment ids the customer's application booked, and notes never leaving the raw layer.

Hand-built raw rows and webhook events (support/raw_rows.py) on real DuckDB files, through
the real core and analytics builds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meetergo_pipeline.defs.resources import build_resources
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.sql import sql_literal
from meetergo_pipeline.transform import (
    TransformSettings,
    build_analytics,
    build_core,
    validate_against_database,
)
from meetergo_pipeline.warehouse.publish import publish_snapshot
from meetergo_pipeline_tests.support.raw_rows import (
    add_booking_at,
    add_event,
    add_host,
    add_meeting_type,
    add_user,
    appointment_payload,
    flat_event,
    user_payload,
)

NOW = datetime(2025, 4, 11, tzinfo=UTC)


def build(
    con: duckdb.DuckDBPyConnection, settings: TransformSettings | None = None
) -> dict[str, int]:
    build_core(con)
    return build_analytics(con, settings or TransformSettings(), now=NOW)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def metered(con: duckdb.DuckDBPyConnection) -> list[str]:
    ids = [
        appointment_id
        for (appointment_id,) in rows(
            con, "SELECT appointment_id FROM analytics.metered_bookings ORDER BY 1"
        )
    ]
    flagged = [
        appointment_id
        for (appointment_id,) in rows(
            con, "SELECT appointment_id FROM analytics.bookings WHERE is_metered ORDER BY 1"
        )
    ]
    assert flagged == ids
    return ids


def test_metering_by_the_meeting_types_metadata(con):
    add_host(con, "u-std", "Sam Standard")
    add_meeting_type(con, "mt-api", "u-std", metadata={"createdVia": "api"})
    add_meeting_type(con, "mt-page", "u-std", metadata={"createdVia": "booking-page"})
    add_meeting_type(con, "mt-embedded", "u-std")  # the listing carries no metadata
    created, start = "2025-03-05T10:00:00Z", "2025-03-20T10:00:00Z"
    add_booking_at(con, "p-api", created, start, host="u-std", meeting_type_id="mt-api")
    add_booking_at(con, "p-page", created, start, host="u-std", meeting_type_id="mt-page")
    add_booking_at(
        con,
        "p-embedded",
        created,
        start,
        host="u-std",
        meeting_type_id="mt-embedded",
        meeting_type_metadata={"createdVia": "api"},
    )
    add_booking_at(con, "p-unknown-type", created, start, host="u-std", meeting_type_id="mt-gone")

    build(con)
    assert metered(con) == []  # the default rule meters api-platform hosts only

    build(con, TransformSettings(metered_booking_predicate="mt.metadata->>'createdVia' = 'api'"))

    assert metered(con) == ["p-api", "p-embedded"]
    assert rows(con, "SELECT meeting_type_id, metadata FROM core.meeting_types") == [
        ("mt-api", '{"createdVia":"api"}'),
        ("mt-embedded", '{"createdVia":"api"}'),
        ("mt-page", '{"createdVia":"booking-page"}'),
    ]
    assert rows(con, "SELECT billing_month, api_bookings FROM analytics.usage_billing_monthly") == [
        (date(2025, 3, 1), 2),
        (date(2025, 4, 1), 0),
    ]


def test_metering_by_a_marker_in_the_notes(con):
    add_host(con, "u-std", "Sam Standard")
    add_meeting_type(con, "mt-1", "u-std")
    created, start = "2025-03-05T10:00:00Z", "2025-03-20T10:00:00Z"
    add_booking_at(con, "q-marked", created, start, host="u-std", notes="CRM sync #api-booking")
    add_booking_at(con, "q-human", created, start, host="u-std", notes="please call me first")
    add_booking_at(con, "q-silent", created, start, host="u-std")
    # a booking the API has not listed yet: its webhook body carries the notes
    webhook_only = appointment_payload(
        "q-webhook", start, "2025-03-20T10:30:00Z", created, host="u-std", notes="#api-booking"
    )
    add_event(con, flat_event("booking_created", webhook_only), received_at=created)

    build(con, TransformSettings(metered_booking_predicate="n.notes LIKE '%#api-booking%'"))

    assert metered(con) == ["q-marked", "q-webhook"]


@pytest.mark.parametrize("file_name", ["api-bookings.csv", "api-bookings.parquet"])
def test_metering_by_the_appointment_ids_file(con, tmp_path, file_name):
    add_host(con, "u-api", "Api Platform")
    add_user(con, user_payload("u-bot", "bot@example.com", user_type="api-platform"))
    add_meeting_type(con, "mt-1", "u-bot")
    for index in range(1, 5):
        add_booking_at(
            con, f"r{index}", f"2025-03-0{index}T10:00:00Z", "2025-03-20T10:00:00Z", host="u-bot"
        )
    ids_file = tmp_path / file_name
    listed = ["r1", " r3 ", "", "r-not-synced-yet", "r1"]
    writer = duckdb.connect()
    writer.execute(
        "CREATE TABLE ids AS SELECT unnest(?) AS appointment_id, 'app' AS origin", [listed]
    )
    if file_name.endswith(".csv"):
        writer.execute("COPY ids TO ? (HEADER)", [str(ids_file)])
    else:
        writer.execute("COPY ids TO ? (FORMAT parquet)", [str(ids_file)])
    writer.close()
    settings = TransformSettings.from_settings(
        Settings.from_env({"MEETERGO_API_BOOKINGS_FILE": str(ids_file)})
    )
    assert settings.api_bookings_file == ids_file

    build(con)
    assert metered(con) == ["r1", "r2", "r3", "r4"]  # the predicate: an api-platform host

    build(con, settings)

    assert metered(con) == ["r1", "r3"]  # exactly the listed ids; the predicate is not applied
    assert rows(
        con,
        "SELECT metered_by, api_bookings_file, api_booking_ids_listed, metered_booking_predicate "
        "FROM analytics.report_settings",
    ) == [("api_bookings_file", file_name, 3, "u.user_type = 'api-platform'")]
    (comment,) = rows(
        con,
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'usage_billing_monthly'",
    )[0]
    assert f"appointment_id listed in {file_name} (MEETERGO_API_BOOKINGS_FILE)" in comment
    assert rows(
        con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'api_booking_ids'"
    ) == [(0,)]
    # the Dagster resource hands the file on
    resources = build_resources(Settings.from_env({"MEETERGO_API_BOOKINGS_FILE": str(ids_file)}))
    assert resources["analytics_settings"].transform_settings().api_bookings_file == ids_file


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (None, "missing.csv", "no such file"),
        ("appointment_id\nr1\n", "ids.txt", "must end in one of"),
        ("id,origin\nr1,app\n", "ids.csv", "column named appointment_id"),
    ],
)
def test_an_unusable_ids_file_fails_before_anything_is_built(con, tmp_path, content, name, reason):
    add_host(con, "u-1", "Ada Lovelace")
    add_booking_at(con, "r1", "2025-03-01T10:00:00Z", "2025-03-20T10:00:00Z")
    build(con)
    before = rows(con, "SELECT * FROM analytics.bookings")
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    with pytest.raises(ValueError, match="MEETERGO_API_BOOKINGS_FILE") as error:
        build_analytics(con, TransformSettings(api_bookings_file=path), now=NOW)

    assert reason in str(error.value)
    assert rows(con, "SELECT * FROM analytics.bookings") == before


@pytest.mark.parametrize(
    "predicate",
    [
        "mt.metadata->>'createdVia' = 'api'",
        "n.notes ILIKE '%#api%'",
        "u.user_type = 'api-platform' OR mt.name = 'API'",
    ],
)
def test_the_predicate_may_read_the_meeting_type_and_the_notes(con, predicate):
    build_core(con)
    validate_against_database(con, TransformSettings(metered_booking_predicate=predicate))


@pytest.mark.parametrize(
    "predicate", ["listed.appointment_id IS NOT NULL", "s.as_of IS NOT NULL", "r.payload IS NULL"]
)
def test_the_predicate_may_not_reach_past_its_aliases(con, predicate):
    build_core(con)
    with pytest.raises(ValueError, match="MEETERGO_METERED_BOOKING_PREDICATE") as error:
        build_analytics(con, TransformSettings(metered_booking_predicate=predicate), now=NOW)
    assert "mt = core.meeting_types" in str(error.value)
    assert "n = the booking's notes" in str(error.value)


def test_every_column_the_check_accepts_the_model_reads(con):
    add_host(con, "u-1", "Ada Lovelace")
    add_meeting_type(con, "mt-1", "u-1")
    add_booking_at(con, "apt-1", "2025-03-01T10:00:00Z", "2025-03-20T10:00:00Z")
    build_core(con)
    probe_columns = {
        "a": rows(con, "SELECT column_name FROM (DESCRIBE core.appointments)"),
        "u": rows(con, "SELECT column_name FROM (DESCRIBE core.users)"),
        "mt": rows(con, "SELECT column_name FROM (DESCRIBE core.meeting_types)"),
        "n": [("notes",)],
    }
    for alias, columns in probe_columns.items():
        predicate = " AND ".join(f"({alias}.{column} IS NULL OR true)" for (column,) in columns)
        build_analytics(con, TransformSettings(metered_booking_predicate=predicate), now=NOW)
        assert metered(con) == ["apt-1"], alias


def test_notes_never_reach_a_published_table(con, tmp_path):
    note = f"Ring me on the mobile {uuid.uuid4().hex} #api-booking"
    event_note = f"Parking at the back {uuid.uuid4().hex} #api-booking"
    add_host(con, "u-1", "Ada Lovelace")
    add_meeting_type(con, "mt-1", "u-1")
    add_booking_at(con, "apt-noted", "2025-03-01T10:00:00Z", "2025-03-20T10:00:00Z", notes=note)
    webhook_only = appointment_payload(
        "apt-event",
        "2025-03-21T10:00:00Z",
        "2025-03-21T10:30:00Z",
        "2025-03-02T10:00:00Z",
        notes=event_note,
    )
    add_event(con, flat_event("booking_created", webhook_only), received_at="2025-03-02T10:00:01Z")

    build(con, TransformSettings(metered_booking_predicate="n.notes LIKE '%#api-booking%'"))
    snapshot = publish_snapshot(con, tmp_path / "snapshot.duckdb", key=b"k" * 32)

    assert metered(con) == ["apt-event", "apt-noted"]
    # the notes are in raw, and nowhere in core, analytics or the snapshot
    assert rows(
        con, f"SELECT count(*) FROM raw.appointments WHERE payload::VARCHAR LIKE '%{note}%'"
    ) == [(1,)]
    for catalog, schemas in [(None, ("core", "analytics")), (snapshot, ("core", "analytics"))]:
        assert text_found(con, catalog, schemas, [note, event_note, "Ring me", "Parking at"]) == []


def text_found(
    con: duckdb.DuckDBPyConnection,
    database: Path | None,
    schemas: tuple[str, ...],
    needles: list[str],
) -> list[str]:
    """`schema.table.column` of every cell or comment in `schemas` containing a needle."""
    catalog = "current_database()"
    if database is not None:
        con.execute(f"ATTACH {sql_literal(str(database))} AS scanned (READ_ONLY)")
        catalog = "'scanned'"
    try:
        columns = rows(
            con,
            f"SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            f"WHERE database_name = {catalog} AND schema_name IN {schemas}",
        )
        assert len(columns) > 50
        prefix = "scanned." if database is not None else ""
        found = []
        for schema, table, column in columns:
            (hits,) = con.execute(
                f'SELECT count(*) FROM {prefix}"{schema}"."{table}" '
                f"WHERE len(list_filter(?, lambda needle: "
                f'contains(CAST("{column}" AS VARCHAR), needle))) > 0',
                [needles],
            ).fetchone()
            if hits:
                found.append(f"{schema}.{table}.{column}")
        (comment_hits,) = con.execute(
            "SELECT count(*) FROM (SELECT comment FROM duckdb_columns() "
            f"WHERE database_name = {catalog} UNION ALL "
            f"SELECT comment FROM duckdb_tables() WHERE database_name = {catalog}) "
            "WHERE len(list_filter(?, lambda needle: contains(comment, needle))) > 0",
            [needles],
        ).fetchone()
        return found + (["comment"] if comment_hits else [])
    finally:
        if database is not None:
            con.execute("DETACH scanned")
