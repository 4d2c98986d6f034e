"""Reading DuckDB files the way an analyst does: read-only, one connection per question."""

from __future__ import annotations

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
READ_TIME_COLUMNS = {"core.appointments": "last_api_read_at"}


def table_checksums(path: Path) -> dict[str, tuple]:
    """Row count and an XOR of whole-row hashes of each core and billing table (read times
    left out). Rows are hashed whole: an XOR over each column separately cancels out a value
    shared by an even number of rows."""
    checksums = {}
    for table in CHECKSUMMED_TABLES:
        excluded = READ_TIME_COLUMNS.get(table)
        columns = f"* EXCLUDE ({excluded})" if excluded else "*"
        sql = f"SELECT count(*), bit_xor(hash(*COLUMNS({columns}))) FROM {table}"
        checksums[table] = query(path, sql)[0]
    return checksums
