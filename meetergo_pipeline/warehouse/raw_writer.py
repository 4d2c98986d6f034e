"""RawWriter: stream API pages into the raw tables in batches, upserting by id."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import duckdb
import pandas as pd

from meetergo_pipeline.sql import load_sql

RawEntity = Literal["users", "meeting_types", "appointments"]
FLUSH_ROWS = 5000


class RawWriter:
    """Buffers rows per entity and upserts them set-based once `FLUSH_ROWS` are waiting.

    Each row is staged as `(id, payload JSON text)`; the typed key columns are extracted by
    the upsert SQL, so Python does no per-field work. Flushing never commits: the caller
    decides where a transaction ends (so that sync state commits with its data).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, seen_at: datetime) -> None:
        self.con = con
        self.seen_at = seen_at
        self._pending: dict[RawEntity, list[tuple[str, str]]] = {
            "users": [],
            "meeting_types": [],
            "appointments": [],
        }
        self.rows_written: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)

    def add(self, entity: RawEntity, rows: list[dict[str, Any]]) -> None:
        pending = self._pending[entity]
        pending.extend((str(row["id"]), json.dumps(row, ensure_ascii=False)) for row in rows)
        if len(pending) >= FLUSH_ROWS:
            self.flush(entity)

    def flush(self, entity: RawEntity | None = None) -> None:
        for name in [entity] if entity else list(self._pending):
            rows = self._pending[name]
            if not rows:
                continue
            batch = pd.DataFrame(rows, columns=["id", "payload"])  # noqa: F841 - read by SQL
            self.con.execute(load_sql(f"raw/upsert_{name}.sql"), {"seen_at": self.seen_at})
            self.rows_written[name] += len(rows)
            rows.clear()
