"""Webhook log → raw.webhook_events over real DuckDB files."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.webhooks import ingest as ingest_module
from meetergo_pipeline.webhooks.ingest import (
    IngestResult,
    backfill_webhook_events,
    ingest_webhook_logs,
)
from meetergo_pipeline_tests.support.raw_rows import open_raw_db
from meetergo_pipeline_tests.support.webhooks import ingest_deliveries

EVENTS = "SELECT * FROM raw.webhook_events ORDER BY event_key"


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "webhooks"
    path.mkdir()
    return path


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return _database(tmp_path / "warehouse.duckdb")


def _database(path: Path) -> duckdb.DuckDBPyConnection:
    return open_raw_db(path)


def wrapped(body: dict, received_at: str = "2025-03-01T10:00:00+00:00") -> bytes:
    return json.dumps({"received_at": received_at, "body": body}).encode() + b"\n"


def created(appointment_id: str, **extra: object) -> dict:
    return {
        "webhookType": "booking_created",
        "id": appointment_id,
        "createdAt": "2025-03-01T09:59:00Z",
        **extra,
    }


def cursor(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute("SELECT file_name, byte_offset FROM raw.webhook_log_cursor").fetchall())


def test_cursor_reads_only_new_complete_lines(
    con: duckdb.DuckDBPyConnection, log_dir: Path
) -> None:
    log = log_dir / "events-2025-03-01.jsonl"
    log.write_bytes(wrapped(created("a")) + wrapped(created("b")))
    assert ingest_webhook_logs(con, log_dir) == IngestResult(1, 2, 2, 0, 0)

    partial = wrapped(created("d"))
    with log.open("ab") as stream:
        stream.write(wrapped(created("c")) + partial[:25])  # a writer mid-append
    assert ingest_webhook_logs(con, log_dir) == IngestResult(1, 1, 1, 0, 0)
    assert cursor(con)[log.name] == log.stat().st_size - 25

    with log.open("ab") as stream:
        stream.write(partial[25:])
    assert ingest_webhook_logs(con, log_dir).new_events == 1
    assert ingest_webhook_logs(con, log_dir) == IngestResult()
    assert cursor(con)[log.name] == log.stat().st_size
    ids = con.execute("SELECT appointment_id FROM raw.webhook_events ORDER BY 1").fetchall()
    assert ids == [("a",), ("b",), ("c",), ("d",)]


def test_reingest_is_idempotent_and_deterministic(tmp_path: Path, log_dir: Path) -> None:
    lines = [wrapped(created(f"apt-{i % 7}"), f"2025-03-01T10:00:{i:02d}Z") for i in range(20)]
    (log_dir / "events-2025-03-01.jsonl").write_bytes(b"".join(lines))
    first = _database(tmp_path / "a.duckdb")
    ingest_webhook_logs(first, log_dir)
    once = first.execute(EVENTS).fetchall()
    assert ingest_webhook_logs(first, log_dir) == IngestResult()
    assert first.execute(EVENTS).fetchall() == once

    # Tiny batches: duplicates fall into different batches of one transaction.
    second = _database(tmp_path / "b.duckdb")
    result = ingest_webhook_logs(second, log_dir, batch_bytes=300)
    assert (result.new_events, result.duplicates) == (7, 13)
    assert second.execute(EVENTS).fetchall() == once
    counts = first.execute(
        "SELECT appointment_id, delivery_count, received_at::VARCHAR FROM raw.webhook_events "
        "WHERE appointment_id = 'apt-0'"
    ).fetchall()
    assert counts == [("apt-0", 3, "2025-03-01 10:00:00+00")]  # first receipt kept


def test_event_time_and_appointment_id_per_shape(
    con: duckdb.DuckDBPyConnection, log_dir: Path
) -> None:
    bodies = [
        {
            "webhookType": "booking_cancelled",
            "id": "a1",
            "updatedAt": "2025-01-01T00:00:00Z",
            "cancel": {"actionAt": "2025-03-01T11:00:00+01:00"},
        },
        {"webhookType": "booking_rescheduled", "id": "a2", "updatedAt": "2025-03-02T08:00:00Z"},
        {
            "event": "booking_created",
            "timestamp": "2025-03-03T08:00:00-05:00",
            "data": {"id": "a3"},
        },
        {"webhookType": "new_employee", "id": "user-1", "createdAt": "2025-03-04T08:00:00"},
        {"webhookType": "review_submitted"},
    ]
    (log_dir / "events-2025-03-01.jsonl").write_bytes(b"".join(wrapped(b) for b in bodies))
    ingest_webhook_logs(con, log_dir)
    rows = con.execute(
        "SELECT event_type, appointment_id, "
        "strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') "
        "FROM raw.webhook_events ORDER BY occurred_at, event_type"
    ).fetchall()
    assert rows == [
        ("booking_cancelled", "a1", "2025-03-01 10:00:00"),
        ("review_submitted", None, "2025-03-01 10:00:00"),  # no time in the body: received_at
        ("booking_rescheduled", "a2", "2025-03-02 08:00:00"),
        ("booking_created", "a3", "2025-03-03 13:00:00"),
        ("new_employee", None, "2025-03-04 08:00:00"),
    ]


def test_dropped_in_raw_bodies_and_json_files(
    con: duckdb.DuckDBPyConnection, log_dir: Path
) -> None:
    ndjson = log_dir / "other-receiver.jsonl"
    ndjson.write_bytes(b"".join(json.dumps(created(i)).encode() + b"\n" for i in ("r1", "r2")))
    array = log_dir / "export.json"
    array.write_text(json.dumps([created("j1"), created("j2"), created("r1")], indent=2))
    single = log_dir / "single.json"
    single.write_text(json.dumps(created("s1"), indent=2))
    mtime = datetime(2025, 3, 5, 12, 0, tzinfo=UTC).timestamp()
    for path in (ndjson, array, single):
        os.utime(path, (mtime, mtime))

    assert ingest_webhook_logs(con, log_dir) == IngestResult(3, 6, 5, 1, 0)
    rows = con.execute(
        "SELECT appointment_id, delivery_count, received_at::VARCHAR FROM raw.webhook_events "
        "ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("j1", 1, "2025-03-05 12:00:00+00"),
        ("j2", 1, "2025-03-05 12:00:00+00"),
        ("r1", 2, "2025-03-05 12:00:00+00"),
        ("r2", 1, "2025-03-05 12:00:00+00"),
        ("s1", 1, "2025-03-05 12:00:00+00"),
    ]
    assert ingest_webhook_logs(con, log_dir) == IngestResult()


def test_malformed_lines_are_quarantined_and_do_not_block_later_lines(
    con: duckdb.DuckDBPyConnection, log_dir: Path
) -> None:
    bad_utf8 = b'{"webhookType":"booking_created","id":"\xff"}'
    content = (
        wrapped(created("ok-1"))
        + b"not json at all\n"
        + bad_utf8
        + b"\r\n"  # invalid UTF-8 and a CRLF: DuckDB's line reader refuses both
        + b"[1, 2]\n"
        + json.dumps(created("ok-2")).encode()
        + b"\r\n"
        + b"\n"
    )
    (log_dir / "dropped.jsonl").write_bytes(content)
    result = ingest_webhook_logs(con, log_dir)
    assert (result.new_events, result.quarantined) == (2, 3)
    ids = con.execute("SELECT appointment_id FROM raw.webhook_events ORDER BY 1").fetchall()
    assert ids == [("ok-1",), ("ok-2",)]
    records = [
        json.loads(line)
        for path in (log_dir / "quarantine").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    raws = sorted(base64.b64decode(r["raw_base64"]) for r in records)
    assert raws == sorted([b"not json at all", bad_utf8, b"[1, 2]"])
    assert all(r["source_file"] == "dropped.jsonl" and r["reason"] for r in records)


def test_failure_mid_ingest_rolls_back_rows_and_cursor(
    con: duckdb.DuckDBPyConnection, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (log_dir / "events-2025-03-01.jsonl").write_bytes(wrapped(created("a")))
    (log_dir / "events-2025-03-02.jsonl").write_bytes(wrapped(created("b")))
    real_save = ingest_module._save_cursor
    calls: list[str] = []

    def crash_on_second_file(connection: duckdb.DuckDBPyConnection, name: str, offset: int) -> None:
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("injected crash")
        real_save(connection, name, offset)

    monkeypatch.setattr(ingest_module, "_save_cursor", crash_on_second_file)
    with pytest.raises(RuntimeError, match="injected crash"):
        ingest_webhook_logs(con, log_dir)
    assert con.execute("SELECT count(*) FROM raw.webhook_events").fetchone() == (0,)
    assert cursor(con) == {}

    monkeypatch.setattr(ingest_module, "_save_cursor", real_save)
    assert ingest_webhook_logs(con, log_dir).new_events == 2
    assert con.execute("SELECT sum(delivery_count) FROM raw.webhook_events").fetchone() == (2,)


# raw.webhook_events as files made before the typed columns were added hold it.
OLD_WEBHOOK_EVENTS = """
CREATE SCHEMA raw;
CREATE TABLE raw.webhook_events (
    event_key      VARCHAR NOT NULL,
    event_type     VARCHAR NOT NULL,
    appointment_id VARCHAR,
    occurred_at    TIMESTAMPTZ,
    received_at    TIMESTAMPTZ NOT NULL,
    delivery_count INTEGER NOT NULL,
    body           JSON NOT NULL USING COMPRESSION zstd,
    source_file    VARCHAR NOT NULL
);
"""

# Rows as the earlier ingest wrote them: type as sent, an appointment id only for types
# starting with booking_, its own event-time rule.
OLD_ROWS = [
    (
        "key-canceled",
        "booking_canceled",
        "apt-1",
        "2025-03-05T11:00:00Z",
        "2025-03-05T11:00:02Z",
        2,
        {
            "webhookType": "booking_canceled",
            "id": "apt-1",
            "updatedAt": "2025-03-05T10:00:00Z",
            "cancel": {"actionAt": "2025-03-05T12:00:00+01:00"},
        },
    ),
    (
        "key-legacy",
        "booking.cancelled",
        None,
        "2025-03-04T10:30:00Z",
        "2025-03-04T10:30:03Z",
        1,
        {
            "event": "booking.cancelled",
            "timestamp": "2025-03-04T10:30:00Z",
            "data": {"appointmentId": "apt-2", "cancel": {"actionAt": "2025-03-04T10:29:00Z"}},
        },
    ),
    (
        "key-employee",
        "new_employee",
        None,
        "2025-03-19T08:00:00Z",
        "2025-03-19T08:00:01Z",
        1,
        {
            "event": "new_employee",
            "timestamp": "2025-03-19T08:00:00Z",
            "data": {"userId": "user-5", "email": "eve@example.com"},
        },
    ),
    (
        "key-unknown",
        "Review Reminder",
        None,
        "2025-03-20T09:00:00Z",
        "2025-03-20T09:00:00Z",
        1,
        {"webhookType": "Review Reminder", "id": "r-1"},
    ),
]
TYPED = (
    "event_type, event_type_as_sent, payload_format, appointment_id, user_id, entity_path, "
    "occurred_at, received_at"
)


def test_a_file_with_the_old_table_gets_the_typed_columns_once(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute(OLD_WEBHOOK_EVENTS)
        for key, event_type, appointment_id, occurred, received, count, body in OLD_ROWS:
            old.execute(
                "INSERT INTO raw.webhook_events VALUES (?, ?, ?, ?, ?, ?, ?, 'events-old.jsonl')",
                [key, event_type, appointment_id, occurred, received, count, json.dumps(body)],
            )

    con = connect_writer(path)  # runs the raw schema, which migrates the table
    migrated = con.execute(
        f"SELECT event_key, delivery_count, {TYPED} FROM raw.webhook_events ORDER BY event_key"
    ).fetchall()
    fresh = _database(tmp_path / "fresh.duckdb")
    ingest_deliveries(fresh, [(body, received) for *_, received, _, body in OLD_ROWS])
    ingested = fresh.execute(f"SELECT {TYPED} FROM raw.webhook_events").fetchall()

    # The same canonical columns a fresh ingest of those bodies writes; keys and counts kept.
    assert sorted(row[2:] for row in migrated) == sorted(ingested)
    assert [row[:2] for row in migrated] == [
        ("key-canceled", 2),
        ("key-employee", 1),
        ("key-legacy", 1),
        ("key-unknown", 1),
    ]
    assert [row[2:6] + row[8:9] for row in migrated] == [
        (
            "booking_cancelled",
            "booking_canceled",
            "flat",
            "apt-1",
            datetime(2025, 3, 5, 11, tzinfo=UTC),
        ),
        ("new_employee", "new_employee", "legacy", None, datetime(2025, 3, 19, 8, tzinfo=UTC)),
        (
            "booking_cancelled",
            "booking.cancelled",
            "legacy",
            "apt-2",
            datetime(2025, 3, 4, 10, 29, tzinfo=UTC),
        ),
        ("review_reminder", "Review Reminder", "flat", None, datetime(2025, 3, 20, 9, tzinfo=UTC)),
    ]
    assert migrated[1][6:8] == ("user-5", "$.data")
    columns = "SELECT column_name FROM duckdb_columns() WHERE table_name = 'webhook_events'"
    assert con.execute(columns).fetchall() == fresh.execute(columns).fetchall()
    assert backfill_webhook_events(con) == 0  # once: every row has its columns now
    con.close()
    fresh.close()
