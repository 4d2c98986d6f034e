"""Load webhook bodies into ``raw.webhook_events`` the one way production does: through the ingest.

Each call writes the deliveries as receiver log lines (``{"received_at", "body"}``, the
receiver's own line format) to a fresh log file in a temp dir and runs
``ingest_webhook_logs`` over it, so tests see exactly the rows the ingest writes.
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
from meetergo_pipeline.webhooks.log import delivery_line

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


def _body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _instant(value: str | datetime) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        raise ValueError(f"received_at {value!r} needs a time zone (Z or an offset)")
    return parsed.astimezone(UTC)
