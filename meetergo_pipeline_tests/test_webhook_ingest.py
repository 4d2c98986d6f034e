"""Webhook log → raw.webhook_events over real DuckDB files."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.webhooks import ingest as ingest_module
from meetergo_pipeline.webhooks.ingest import IngestResult, ingest_webhook_logs

SCHEMA_SQL = Path(__file__).parents[1] / "meetergo_pipeline" / "sql" / "raw" / "schema.sql"
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
    connection = duckdb.connect(str(path))
    connection.execute(SCHEMA_SQL.read_text())
    return connection


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
