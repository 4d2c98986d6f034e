"""Load the webhook log into ``raw.webhook_events``, incrementally and idempotently.

Each ``*.jsonl`` / ``*.json`` file directly under the log dir is read from its cursor
(``raw.webhook_log_cursor``: file name + byte offset) up to its last complete line; a partial
trailing line is left for the next run. Rows and cursors commit in ONE transaction, so a crash
leaves both or neither and re-ingesting the same log gives the same table.

``BatchLoader`` loads one batch of lines; the PostgreSQL inbox's ingest (``inbox_ingest.py``)
feeds it its rows as receiver lines, so both sources share every step below.

Lines are either our receiver's ``{"received_at", "body"}`` wrapper or, in files dropped in by
other producers, a bare body per line. A ``.json`` file may hold one object, an array of
bodies, or NDJSON; it is re-read whole whenever its size changes. Bare bodies get
``received_at`` = the file's mtime (UTC) at ingestion: the latest moment they can have arrived.

The ingest is the one reader of a body's shape: ``sql/webhooks/canonical_events.sql`` turns
every delivery into the typed columns (folded ``event_type``, ``appointment_id``,
``occurred_at``, ``user_id``, ...) and its ``event_key``; core reads those columns. At-least-once
deliveries collapse onto the key (byte-identical bodies up to whitespace); ``delivery_count``
counts them and ``received_at`` keeps the first receipt. Event types outside meetergo's
documented set are kept under their normalised name and counted in ``unknown_types``. Lines
that are not JSON objects go to the quarantine with a reason and never stop the lines after
them.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb

from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.warehouse.transaction import transaction
from meetergo_pipeline.webhooks.log import (
    append_durably,
    quarantine_line,
    quarantine_path,
    tenant_of_log_file,
    utc_now,
)

logger = logging.getLogger("meetergo_pipeline.webhooks.ingest")

DEFAULT_BATCH_BYTES = 64 * 1024 * 1024  # DuckDB needs ~3x this in memory: fits a 128 MB cap
MIN_LINE_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class IngestResult:
    files_read: int = 0  # files with new bytes
    lines_read: int = 0  # non-blank lines, usable or not
    new_events: int = 0  # rows added to raw.webhook_events
    duplicates: int = 0  # deliveries that collapsed onto an existing or earlier event
    quarantined: int = 0  # lines that were not JSON objects
    unknown_types: int = 0  # deliveries of an event type meetergo does not document (kept)

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )


def ingest_webhook_logs(
    con: duckdb.DuckDBPyConnection,
    log_dir: Path,
    *,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> IngestResult:
    """Ingest new log lines under ``log_dir``; ``con`` must not be inside a transaction.

    The raw schema (``sql/raw/schema.sql``) must already exist.
    """
    log_dir = Path(log_dir)
    total = IngestResult()
    rejected: list[Rejected] = []
    with tempfile.TemporaryDirectory(prefix="webhook-ingest-") as scratch, transaction(con):
        con.execute(load_sql("webhooks/macros.sql"))
        cursors = dict(con.execute(load_sql("webhooks/cursors.sql")).fetchall())
        for path in sorted([*log_dir.glob("*.jsonl"), *log_dir.glob("*.json")]):
            reader = _FileIngest(con, path, Path(scratch))
            total += reader.run(cursors.get(path.name, 0), batch_bytes)
            rejected += reader.loader.rejected
        con.execute(load_sql("webhooks/drop_temp_tables.sql"))
    if rejected:
        # After the commit: a rerun after a crash must not quarantine the same lines twice.
        lines = [quarantine_line(r.at, r.reason, r.raw, source_file=r.source) for r in rejected]
        append_durably(quarantine_path(log_dir, utc_now()), lines)
    return total


@dataclass(frozen=True)
class Rejected:
    """A line the ingest could not use: where it came from, why, and its bytes."""

    source: str
    reason: str
    raw: bytes
    at: datetime


class BatchLoader:
    """Loads batches of log lines of one source into ``raw.webhook_events``.

    Runs inside the caller's transaction, after ``macros.sql``; a line is a receiver wrapper
    ``{"received_at", "body"}`` or a bare body, which gets ``fallback_received_at``. Rows carry
    ``source`` as their ``source_file`` and its tenant (``log.tenant_of_log_file``). Unusable
    lines collect in ``rejected`` for the caller to quarantine once its transaction has
    committed.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: str,
        scratch: Path,
        fallback_received_at: datetime,
    ) -> None:
        self.con = con
        self.source = source
        self.scratch = scratch / "lines.jsonl"
        self.fallback_received_at = fallback_received_at
        self.rejected: list[Rejected] = []

    def load(self, chunk: bytes, where: str) -> IngestResult:
        """Load one batch of lines; ``where`` places it in its source for quarantine reasons
        (e.g. ``after byte 1024``)."""
        rejected_before = len(self.rejected)
        if _line_reader_would_refuse(chunk):
            # Odd dropped-in files only: clean line by line in Python (the slow path). A failed
            # DuckDB read would abort the whole transaction, so look before reading.
            chunk = self._cleaned(chunk, where)
        self._load_lines(chunk)
        malformed = self.con.execute(load_sql("webhooks/malformed_lines.sql")).fetchall()
        for line_no, line, reason in malformed:
            self.reject(line.encode(), f"{reason} (line {line_no} {where})")
        self.con.execute(load_sql("webhooks/batch_bodies.sql"))
        self.con.execute(load_sql("webhooks/canonical_events.sql"))
        deliveries, unknown = one_row(self.con, load_sql("webhooks/count_deliveries.sql"))
        if unknown:
            names = self.con.execute(load_sql("webhooks/unknown_types.sql")).fetchall()
            logger.info(
                "%s: %d deliveries of event types meetergo does not document, kept: %s",
                self.source,
                unknown,
                ", ".join(name for (name,) in names),
            )
        self.con.execute(load_sql("webhooks/group_by_key.sql"))
        tenant = {"tenant_id": tenant_of_log_file(self.source)}
        self.con.execute(load_sql("webhooks/count_repeats.sql"), tenant)
        (new,) = one_row(
            self.con,
            load_sql("webhooks/insert_new_events.sql"),
            {"source_file": self.source, **tenant},
        )
        quarantined = len(self.rejected) - rejected_before
        return IngestResult(
            lines_read=deliveries + quarantined,
            new_events=new,
            duplicates=deliveries - new,
            quarantined=quarantined,
            unknown_types=unknown,
        )

    def _load_lines(self, chunk: bytes) -> None:
        self.scratch.write_bytes(chunk)
        max_line = max(len(chunk) + 1, MIN_LINE_LIMIT)  # no line can be refused as too long
        self.con.execute(
            load_sql("webhooks/load_lines.sql"),
            {
                "path": str(self.scratch),
                "max_line": max_line,
                "fallback_received_at": self.fallback_received_at,
            },
        )

    def _cleaned(self, chunk: bytes, where: str) -> bytes:
        """The chunk with unreadable lines quarantined and blanked (line numbers stay put)."""
        cleaned: list[bytes] = []
        for number, raw in enumerate(chunk.split(b"\n"), start=1):
            line = raw.rstrip(b"\r")
            try:
                text = line.decode("utf-8")
                if "\r" in text or "\x01" in text:
                    text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
                self.reject(line, f"{type(exc).__name__} (line {number} {where})")
                text = ""
            cleaned.append(text.encode())
        return b"\n".join(cleaned)

    def reject(self, raw: bytes, reason: str) -> None:
        """Set ``raw`` aside for the quarantine, with ``reason``."""
        self.rejected.append(Rejected(self.source, reason, raw, utc_now()))


class _FileIngest:
    """One file's new bytes → batches of lines → rows, then its cursor."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, scratch: Path) -> None:
        self.con = con
        self.path = path
        stat = path.stat()
        self.size = stat.st_size
        mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
        self.loader = BatchLoader(con, path.name, scratch, mtime)

    def run(self, offset: int, batch_bytes: int) -> IngestResult:
        if offset == self.size:
            return IngestResult()
        if offset > self.size:
            logger.warning("%s shrank below its cursor; reading it again", self.path.name)
            offset = 0
        if self.path.suffix == ".json":
            data = self.path.read_bytes()
            result = self.loader.load(_json_document_lines(data), "after byte 0")
            offset = len(data)
        else:
            result = IngestResult()
            with self.path.open("rb") as stream:
                while offset < self.size:
                    stream.seek(offset)
                    chunk = _complete_lines(stream, batch_bytes)
                    if not chunk:
                        break
                    result += self.loader.load(chunk, f"after byte {offset}")
                    offset += len(chunk)
        _save_cursor(self.con, self.path.name, offset)
        return IngestResult(files_read=1) + result


def _line_reader_would_refuse(chunk: bytes) -> bool:
    """DuckDB's CSV line reader rejects CR, its \\x01 delimiter and invalid UTF-8."""
    if b"\r" in chunk or b"\x01" in chunk:
        return True
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _complete_lines(stream: BinaryIO, batch_bytes: int) -> bytes:
    """Up to ``batch_bytes`` (more if one line is longer) ending at a newline.

    A trailing piece without a newline is kept only if it is a whole JSON object already: a
    writer mid-append never leaves one (our receiver writes line and newline in one call), and
    if its newline arrives later the next read sees just a blank line.
    """
    data = stream.read(batch_bytes)
    if data and not data.endswith(b"\n"):
        data += stream.readline()
    end = data.rfind(b"\n") + 1
    tail = data[end:]
    if tail.strip() and _is_json_object(tail):
        return data
    return data[:end]


def _json_document_lines(data: bytes) -> bytes:
    """A ``.json`` file as NDJSON: an array → one body per line; otherwise the text as is."""
    try:
        document = json.loads(data)
    except ValueError:
        return data  # NDJSON or garbage: the line reader sorts out which lines are usable
    bodies = document if isinstance(document, list) else [document]
    return b"".join(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        for body in bodies
    )


def _is_json_object(text: bytes) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _save_cursor(con: duckdb.DuckDBPyConnection, file_name: str, offset: int) -> None:
    con.execute(
        load_sql("webhooks/save_cursor.sql"), {"file_name": file_name, "byte_offset": offset}
    )


def backfill_webhook_events(con: duckdb.DuckDBPyConnection) -> int:
    """Fill the typed columns of rows stored before they existed; the number of rows filled.

    Runs the ingest's own ``canonical_events.sql`` over those rows' bodies, once: rows the
    ingest wrote have ``payload_format`` set. ``event_key`` stays as stored. ``con`` must not
    be inside a transaction.
    """
    (unfilled,) = one_row(con, load_sql("webhooks/count_unfilled.sql"))
    if not unfilled:
        return 0
    with transaction(con):
        for name in ("macros", "backfill_bodies", "canonical_events", "backfill_columns"):
            con.execute(load_sql(f"webhooks/{name}.sql"))
        con.execute(load_sql("webhooks/drop_temp_tables.sql"))
    logger.info(
        "filled the typed columns of %d webhook events stored before they existed", unfilled
    )
    return unfilled
