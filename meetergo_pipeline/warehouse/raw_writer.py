"""RawWriter: stream API pages into the raw tables in batches, upserting by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import duckdb

from meetergo_pipeline.client.paging import Page
from meetergo_pipeline.sql import load_sql

RawEntity = Literal["users", "meeting_types", "appointments"]
FLUSH_ROWS = 5000


@dataclass
class _Batch:
    """Pages to upsert in one statement; no id occurs twice in it."""

    pages: list[Page] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class RawWriter:
    """Buffers pages per entity and upserts them set-based once `FLUSH_ROWS` rows wait.

    A page is passed as its response body, the bytes exactly as received (a BLOB; decoding
    them to Python str would cost more than all the SQL): the upsert SQL unnests the rows
    and extracts the typed key columns in DuckDB, so Python never parses or re-serialises a
    payload (for a 100k-appointment sweep that was most of the sync's CPU).

    An upsert cannot apply the same id twice, and deduplicating in SQL cost as much as the
    rest of the upsert. So a page repeating an id that is already waiting (a multi-host
    appointment, listed once per host) goes into a second batch, upserted after the first;
    the upsert keeps the first read of a row in a sync (`seen_at`). Flushing never commits:
    the caller decides where a transaction ends (so that sync state commits with its data).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, seen_at: datetime) -> None:
        self.con = con
        self.seen_at = seen_at
        self._batches: dict[RawEntity, list[_Batch]] = {
            "users": [],
            "meeting_types": [],
            "appointments": [],
        }
        self.rows_written: dict[RawEntity, int] = dict.fromkeys(self._batches, 0)

    def add(self, entity: RawEntity, page: Page) -> None:
        batches = self._batches[entity]
        batch = next((b for b in batches if b.ids.isdisjoint(page.ids)), None)
        if batch is None:
            batch = _Batch()
            batches.append(batch)
        batch.pages.append(page)
        batch.ids.update(page.ids)
        if sum(len(b.ids) for b in batches) >= FLUSH_ROWS:
            self.flush(entity)

    def flush(self, entity: RawEntity | None = None) -> None:
        for name in [entity] if entity else list(self._batches):
            for batch in self._batches[name]:
                self._upsert(name, batch)
            self._batches[name].clear()

    def _upsert(self, entity: RawEntity, batch: _Batch) -> None:
        self.con.execute(
            load_sql(f"raw/upsert_{entity}.sql"),
            {"bodies": [page.body for page in batch.pages], "seen_at": self.seen_at},
        )
        self.rows_written[entity] += len(batch.ids)
