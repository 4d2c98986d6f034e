"""Load the PostgreSQL inbox into ``raw.webhook_events``, incrementally and exactly once.

The inbox's rows become receiver log lines (``{"received_at", "body"}``) and go through the
log's own loading (``ingest.BatchLoader``: the same SQL, the same event keys and dedup), with
``source_file`` = ``meetergo_webhook_inbox``.

The cursor is the (transaction id, row id) of the last row read, kept per inbox id in
``raw.webhook_inbox_cursor`` and committed in the same DuckDB transaction as the rows. A run
reads only rows written by transactions older than the oldest one still running (the
snapshot's horizon, see ``inbox.InboxReader``): below it nothing can commit any more, so the
cursor never passes a row that becomes visible later, whatever the order of ids and commits.
A row above the horizon waits for the next run, however long an older transaction lasts.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb

from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.warehouse.transaction import transaction
from meetergo_pipeline.webhooks.inbox import (
    INBOX_TABLE,
    InboxPosition,
    InboxReader,
    InboxRow,
    quarantine_in_inbox,
)
from meetergo_pipeline.webhooks.ingest import DEFAULT_BATCH_BYTES, BatchLoader, IngestResult
from meetergo_pipeline.webhooks.log import delivery_line, utc_now

logger = logging.getLogger("meetergo_pipeline.webhooks.ingest")


def ingest_webhook_inbox(
    con: duckdb.DuckDBPyConnection,
    inbox_url: str,
    *,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> IngestResult:
    """Ingest the inbox's new rows; ``con`` must not be inside a transaction.

    The raw schema (``sql/raw/schema.sql``) must already exist. Raises InboxUnavailable
    (an ``OSError`` without the URL's password) when the inbox cannot be read; then nothing
    is written.
    """
    with (
        closing(InboxReader(inbox_url)) as reader,
        tempfile.TemporaryDirectory(prefix="webhook-inbox-ingest-") as scratch,
        transaction(con),
    ):
        con.execute(load_sql("webhooks/macros.sql"))
        start = _cursor(con, reader.inbox_id)
        loader = BatchLoader(con, INBOX_TABLE, Path(scratch), utc_now())
        total, position = _read(reader.rows(start), loader, batch_bytes)
        if position is not None:
            params = {"inbox_id": reader.inbox_id, "last_xid": position.xid, "last_id": position.id}
            con.execute(load_sql("webhooks/save_inbox_cursor.sql"), params)
        con.execute(load_sql("webhooks/drop_temp_tables.sql"))
        held_back = reader.held_back()
    if loader.rejected:
        # After the commit: a rerun after a crash must not quarantine the same rows twice.
        refused = [(r.at, f"ingest: {r.reason}", r.raw) for r in loader.rejected]
        quarantine_in_inbox(inbox_url, refused)
    if held_back:
        logger.info(
            "%d deliveries in the webhook inbox wait for an older transaction to end; "
            "a later run reads them",
            held_back,
        )
    return total


def _read(
    rows: Iterator[InboxRow], loader: BatchLoader, batch_bytes: int
) -> tuple[IngestResult, InboxPosition | None]:
    """Load ``rows`` in batches of about ``batch_bytes``; the position of the last row read
    (None when there was none)."""
    total = IngestResult()
    position: InboxPosition | None = None
    batch: list[InboxRow] = []
    size = 0
    for row in rows:
        position = row.position
        if not _wraps_as_one_line(row.body):
            loader.reject(row.body, f"inbox row {row.id}: the body is not one JSON object line")
            total += IngestResult(lines_read=1, quarantined=1)
            continue
        batch.append(row)
        size += len(row.body)
        if size >= batch_bytes:
            total += _load(loader, batch)
            batch, size = [], 0
    if batch:
        total += _load(loader, batch)
    return total, position


def _wraps_as_one_line(body: bytes) -> bool:
    """Whether ``body`` can be wrapped into one receiver log line: text starting with ``{``
    and without line breaks (our receivers store only such bodies; the line reader judges
    the rest of it)."""
    return body.lstrip().startswith(b"{") and b"\n" not in body and b"\r" not in body


def _load(loader: BatchLoader, rows: list[InboxRow]) -> IngestResult:
    chunk = b"".join(delivery_line(row.received_at, row.body) for row in rows)
    return loader.load(chunk, f"of the batch from inbox row {rows[0].id}")


def _cursor(con: duckdb.DuckDBPyConnection, inbox_id: str) -> InboxPosition:
    found = con.execute(load_sql("webhooks/inbox_cursor.sql"), {"inbox_id": inbox_id}).fetchone()
    return InboxPosition() if found is None else InboxPosition(int(found[0]), int(found[1]))
