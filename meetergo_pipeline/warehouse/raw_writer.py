"""RawWriter: stream API pages into the raw tables, merging by id once per transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

import duckdb

from meetergo_pipeline.client.paging import Page
from meetergo_pipeline.models import raw_api_models
from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.tenants import DEFAULT_TENANT
from meetergo_pipeline.warehouse.appointment_fields import define_appointment_fields

# The raw API tables of the model catalogue, by name (a test keeps the two in step).
RawEntity = Literal["users", "meeting_types", "appointments"]
STAGE_ROWS = 5000


class RawWriter:
    """Stages one tenant's pages as they arrive and merges them into `raw.<entity>` on
    `flush()`, as rows of that tenant (`tenant_id`).

    A page goes to DuckDB as its response body, the bytes exactly as received (a BLOB):
    `stage_<entity>.sql` unnests the rows and extracts the typed keys into a session-only
    staging table every `STAGE_ROWS` rows, so Python never parses or re-serialises a
    payload. `flush()` merges the staged rows by id (`merge_<entity>.sql`: update stored
    rows, insert new ones; the first read of a row in a sync wins) and empties the stage;
    callers flush once per transaction (why: docs/performance.md).

    `rows_inserted` counts rows new to the table, `rows_updated` stored rows read again (their
    payload replaced, a tombstone lifted); `pages_added` the pages given to `add`.

    Flushing never commits: the caller flushes, then commits, so sync state commits with
    its data; rows staged but not flushed are lost with the transaction, never half-stored.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, seen_at: datetime, tenant_id: str = DEFAULT_TENANT
    ) -> None:
        self.con = con
        self.seen_at = seen_at
        self.tenant_id = tenant_id
        self._pending: dict[RawEntity, list[Page]] = {
            cast(RawEntity, model.name): [] for model in raw_api_models()
        }
        self._pending_rows: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        self._staged_rows: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        self.rows_written: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        self.pages_added: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        self.rows_inserted: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        self.rows_updated: dict[RawEntity, int] = dict.fromkeys(self._pending, 0)
        con.execute(load_sql("raw/staging.sql", fields_type=define_appointment_fields(con)))

    def add(self, entity: RawEntity, page: Page) -> None:
        self.pages_added[entity] += 1
        self._pending[entity].append(page)
        self._pending_rows[entity] += len(page)
        if self._pending_rows[entity] >= STAGE_ROWS:
            self._stage(entity)

    def flush(self, entity: RawEntity | None = None) -> None:
        for name in [entity] if entity else list(self._pending):
            self._stage(name)
            if not self._staged_rows[name]:
                continue
            for statement in self.con.extract_statements(load_sql(f"raw/merge_{name}.sql")):
                result = self.con.execute(
                    statement.query, {"seen_at": self.seen_at, "tenant_id": self.tenant_id}
                )
                (changed,) = result.fetchone()  # type: ignore[misc]
                if statement.type == duckdb.StatementType.INSERT:
                    self.rows_inserted[name] += changed
                elif statement.type == duckdb.StatementType.UPDATE:
                    self.rows_updated[name] += changed
            self.con.execute(load_sql("raw/clear_stage.sql", entity=name))
            self.rows_written[name] += self._staged_rows[name]
            self._staged_rows[name] = 0

    def _stage(self, entity: RawEntity) -> None:
        pages = self._pending[entity]
        if not pages:
            return
        self.con.execute(
            load_sql(f"raw/stage_{entity}.sql"), {"bodies": [page.body for page in pages]}
        )
        self._staged_rows[entity] += self._pending_rows[entity]
        pages.clear()
        self._pending_rows[entity] = 0
