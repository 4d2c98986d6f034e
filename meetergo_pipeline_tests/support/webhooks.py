"""Webhook deliveries as the receiver stores them, and their load into ``raw.webhook_events``.

``ingest_deliveries`` writes the deliveries as receiver log lines (``{"received_at", "body"}``,
the receiver's own line format) to a fresh log file in a temp dir and runs
``ingest_webhook_logs`` over it, so tests see exactly the rows the ingest writes.
``append_to_log`` appends them to a pipeline's log dir instead, to the day files the receiver
writes, for the Dagster jobs to ingest.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from meetergo_pipeline.webhooks.ingest import IngestResult, ingest_webhook_logs
from meetergo_pipeline.webhooks.log import delivery_line, event_log_path

Delivery = tuple[dict[str, Any], str | datetime]  # (body, received_at)


def ingest_deliveries(
    con: duckdb.DuckDBPyConnection, deliveries: Iterable[Delivery]
) -> IngestResult:
    """Ingest ``(body, received_at)`` deliveries in order; received_at is ISO text or aware."""
    lines = [delivery_line(_instant(at), _body_bytes(body)) for body, at in deliveries]
    with tempfile.TemporaryDirectory(prefix="webhook-test-log-") as log_dir:
        # A new file name each call: the ingest's cursor is kept per file name.
        (Path(log_dir) / f"events-{uuid.uuid4().hex}.jsonl").write_bytes(b"".join(lines))
        return ingest_webhook_logs(con, Path(log_dir))


def ingest_body(
    con: duckdb.DuckDBPyConnection, body: dict[str, Any], received_at: str | datetime
) -> IngestResult:
    """Ingest one delivery."""
    return ingest_deliveries(con, [(body, received_at)])


def append_to_log(log_dir: Path, deliveries: Iterable[Delivery]) -> None:
    """Append each delivery to ``log_dir``'s day file of its received_at, as the receiver does."""
    for body, at in deliveries:
        received_at = _instant(at)
        path = event_log_path(log_dir, received_at)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as log:
            log.write(delivery_line(received_at, _body_bytes(body)))


def _body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _instant(value: str | datetime) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        raise ValueError(f"received_at {value!r} needs a time zone (Z or an offset)")
    return parsed.astimezone(UTC)
