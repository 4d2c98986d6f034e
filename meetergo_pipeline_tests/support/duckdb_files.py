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


def table_checksums(path: Path, *, ignore: Sequence[str] = ()) -> dict[str, tuple]:
    """Row count and an order-independent content hash of each core and billing table.

    Columns named in `ignore` (e.g. when a row was last read) are left out.
    """
    columns = "COLUMNS(*)"
    if ignore:
        names = ", ".join(f"'{name}'" for name in ignore)
        columns = f"COLUMNS(lambda c: c NOT IN ({names}))"
    return {
        table: query(path, f"SELECT count(*), bit_xor(hash({columns})) FROM {table}")[0]
        for table in CHECKSUMMED_TABLES
    }
