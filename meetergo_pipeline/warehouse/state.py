"""Sync state in `raw.sync_state`, written inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import duckdb

from meetergo_pipeline.client.models import parse_utc
from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.tenants import DEFAULT_TENANT


class SyncState:
    """One tenant's high-water marks and last-run times, keyed like `appointments_hwm/<user id>`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tenant_id: str = DEFAULT_TENANT) -> None:
        self.con = con
        self.tenant_id = tenant_id

    def get_time(self, key: str) -> datetime | None:
        row = self.con.execute(
            load_sql("raw/sync_state_value.sql"), {"state_key": key, "tenant_id": self.tenant_id}
        ).fetchone()
        return parse_utc(row[0]) if row else None

    def all_times(self, prefix: str) -> dict[str, datetime]:
        """Every key under `prefix`, with the prefix removed."""
        rows = self.con.execute(
            load_sql("raw/sync_state_by_prefix.sql"),
            {"prefix": prefix, "tenant_id": self.tenant_id},
        ).fetchall()
        return {key.removeprefix(prefix): parse_utc(value) for key, value in rows}  # type: ignore[misc]

    def set_time(self, key: str, value: datetime, now: datetime) -> None:
        self.set_times({key: value}, now)

    def set_times(self, values: dict[str, datetime], now: datetime) -> None:
        """Write several keys in one statement, inside the caller's transaction."""
        if not values:
            return
        self.con.execute(
            load_sql("raw/write_sync_state.sql"),
            {
                "keys": list(values),
                "values": [value.isoformat() for value in values.values()],
                "now": now,
                "tenant_id": self.tenant_id,
            },
        )
