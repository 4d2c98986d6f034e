"""Reading DuckDB files the way an analyst does: read-only, one connection per question."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

CHECKSUMMED_TABLES = [
    "core.users",
    "core.meeting_types",
    "core.appointments",
    "analytics.booking_volume_daily",
    "analytics.usage_billing_monthly",
]


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# When a sync read a row is not part of the row's content.
READ_TIME_COLUMNS = ("last_api_read_at",)


def table_checksums(path: Path, *, ignore: Sequence[str] = ()) -> dict[str, tuple]:
    """Row count and an XOR of whole-row hashes of each core and billing table, leaving out
    when a row was last read and the columns named in `ignore`. Rows are hashed whole: an
    XOR over each column separately cancels out a value shared by an even number of rows."""
    names = ", ".join(f"'{name}'" for name in (*READ_TIME_COLUMNS, *ignore))
    columns = f"*COLUMNS(lambda c: c NOT IN ({names}))"
    return {
        table: query(path, f"SELECT count(*), bit_xor(hash({columns})) FROM {table}")[0]
        for table in CHECKSUMMED_TABLES
    }
