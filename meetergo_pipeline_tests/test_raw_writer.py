"""RawWriter against a real DuckDB file: pages in, one row per id out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from meetergo_pipeline.client.models import decode_page
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.warehouse.raw_writer import RawWriter

SEEN_AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def appointment(appointment_id: str, updated_at: str, note: str) -> dict[str, object]:
    return {
        "id": appointment_id,
        "start": "2026-12-01T09:00:00+01:00",
        "createdAt": "2026-11-20T10:00:00.000Z",
        "updatedAt": updated_at,
        "notes": note,
    }


def page_of(*rows: dict[str, object]):
    body = json.dumps({"appointments": list(rows), "total": len(rows)}, ensure_ascii=False)
    return decode_page(body.encode(), "appointments")


def test_a_multi_host_appointment_listed_twice_lands_once_from_its_first_read(
    tmp_path: Path,
) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    writer = RawWriter(con, seen_at=SEEN_AT)
    writer.add("appointments", page_of(appointment("a", "2026-11-21T00:00:00Z", "first host")))
    writer.add(
        "appointments",
        page_of(
            appointment("a", "2026-11-22T00:00:00Z", "second host, änderung"),
            appointment("b", "2026-11-21T00:00:00+02:00", "only host"),
        ),
    )
    writer.flush()
    rows = con.execute(
        "SELECT appointment_id, payload ->> 'notes', source_updated_at, start_at, last_seen_at "
        "FROM raw.appointments ORDER BY appointment_id"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("a", "first host"), ("b", "only host")]
    assert rows[0][2] == datetime(2026, 11, 21, tzinfo=UTC)
    assert rows[1][2] == datetime(2026, 11, 20, 22, tzinfo=UTC)
    assert rows[0][3] == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert {r[4] for r in rows} == {SEEN_AT}
    assert writer.rows_written["appointments"] == 3

    next_sync = RawWriter(con, seen_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    next_sync.add("appointments", page_of(appointment("a", "2026-11-23T00:00:00Z", "moved")))
    next_sync.flush()
    stored = con.execute(
        "SELECT payload ->> 'notes', first_seen_at, last_seen_at FROM raw.appointments "
        "WHERE appointment_id = 'a'"
    ).fetchone()
    assert stored == ("moved", SEEN_AT, datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


def test_a_row_stored_earlier_in_the_same_sync_is_not_rewritten(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    writer = RawWriter(con, seen_at=SEEN_AT)
    writer.add("appointments", page_of(appointment("a", "2026-11-21T00:00:00Z", "first host")))
    writer.flush()  # a commit boundary: the row is stored before its second listing arrives
    writer.add("appointments", page_of(appointment("a", "2026-11-22T00:00:00Z", "second host")))
    writer.flush()
    rows = con.execute("SELECT payload ->> 'notes' FROM raw.appointments").fetchall()
    assert rows == [("first host",)]


def test_payloads_are_stored_byte_for_byte_as_json(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    writer = RawWriter(con, seen_at=SEEN_AT)
    row = appointment("c", "2026-11-21T00:00:00Z", "Zoë Ø 😀")
    writer.add("appointments", page_of(row))
    writer.flush()
    (payload,) = con.execute("SELECT payload FROM raw.appointments").fetchone()  # type: ignore[misc]
    assert json.loads(payload) == row


def test_a_later_sync_updates_from_its_first_read_and_undeletes(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    first = RawWriter(con, seen_at=SEEN_AT)
    first.add(
        "appointments",
        page_of(
            appointment("a", "2026-11-21T00:00:00Z", "booked"),
            appointment("b", "2026-11-21T00:00:00Z", "booked"),
        ),
    )
    first.flush()
    con.execute("UPDATE raw.appointments SET deleted_at = ? WHERE appointment_id = 'b'", [SEEN_AT])

    later = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    second = RawWriter(con, seen_at=later)
    second.add("appointments", page_of(appointment("a", "2026-11-24T00:00:00Z", "moved")))
    second.add(
        "appointments",
        page_of(
            appointment("a", "2026-11-24T01:00:00Z", "second host's copy"),
            appointment("b", "2026-11-24T00:00:00Z", "listed again"),
            appointment("c", "2026-11-24T00:00:00Z", "new"),
        ),
    )
    second.flush()
    rows = con.execute(
        "SELECT appointment_id, payload ->> 'notes', first_seen_at, last_seen_at, deleted_at "
        "FROM raw.appointments ORDER BY appointment_id"
    ).fetchall()
    assert rows == [
        ("a", "moved", SEEN_AT, later, None),
        ("b", "listed again", SEEN_AT, later, None),
        ("c", "new", later, later, None),
    ]


def test_the_first_reads_start_is_kept_when_a_later_read_moves_the_meeting(
    tmp_path: Path,
) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    first = RawWriter(con, seen_at=SEEN_AT)
    first.add("appointments", page_of(appointment("a", "2026-11-21T00:00:00Z", "booked")))
    first.flush()
    # a row stored before first_start_at existed: the next read fills it from start_at
    second_row = {
        **appointment("b", "2026-11-21T00:00:00Z", "booked"),
        "start": "2026-12-02T09:00Z",
    }
    first.add("appointments", page_of(second_row))
    first.flush()
    con.execute("UPDATE raw.appointments SET first_start_at = NULL WHERE appointment_id = 'b'")

    later = RawWriter(con, seen_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    later.add(
        "appointments",
        page_of(
            {**appointment("a", "2026-11-24T00:00:00Z", "moved"), "start": "2026-12-03T10:00Z"},
            {**second_row, "updatedAt": "2026-11-24T00:00:00Z", "start": "2026-12-04T10:00Z"},
        ),
    )
    later.flush()
    rows = con.execute(
        "SELECT appointment_id, start_at, first_start_at FROM raw.appointments ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("a", datetime(2026, 12, 3, 10, tzinfo=UTC), datetime(2026, 12, 1, 8, tzinfo=UTC)),
        ("b", datetime(2026, 12, 4, 10, tzinfo=UTC), datetime(2026, 12, 2, 9, tzinfo=UTC)),
    ]


def test_times_without_an_offset_are_utc_and_unreadable_times_null_whatever_the_zone(
    tmp_path: Path,
) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    con.execute("SET TimeZone = 'America/New_York'")
    naive = {
        "id": "a",
        "start": "2026-12-01T09:00:00",
        "end": "half past nine",
        "createdAt": "2026-11-20T10:00:00",
        "updatedAt": "2026-11-21T00:00",
        "rescheduledAt": "2026-11-20T11:00:00+01:00",
    }
    writer = RawWriter(con, seen_at=SEEN_AT)
    writer.add("appointments", page_of(naive))
    writer.flush()

    row = con.execute(
        "SELECT start_at, created_at, source_updated_at, fields.end, fields.rescheduledAt "
        "FROM raw.appointments"
    ).fetchone()
    assert row == (
        datetime(2026, 12, 1, 9, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
        datetime(2026, 11, 21, tzinfo=UTC),
        None,
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    )
