"""What a table of the working file holds, as the Dagster UI shows it after a build.

Plain functions over the writer's connection: a table's columns with their types and
COMMENTs, its own COMMENT, its row count, a preview of the rows the snapshot publishes, and
the recent booking volume. Previews read a published table's contract SELECT
(`sql/publish/`), so they show no column the snapshot does not publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.warehouse.publish import contract_select

PREVIEW_ROWS = 10


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type, COMMENT (None when it has none) and nullability."""

    name: str
    data_type: str
    comment: str | None
    nullable: bool


@dataclass(frozen=True)
class Preview:
    """The first rows of a published table, latest first (ordered by every column, descending)."""

    columns: list[str]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True)
class RecentVolume:
    """Bookings created and cancelled on `last_day` (the last complete day before the build's
    day, in the reporting time zone) and in the seven complete days up to it."""

    last_day: date
    created_last_day: int
    cancelled_last_day: int
    created_last_7_days: int
    cancelled_last_7_days: int


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[Column]:
    """The columns of `table` (`schema.table`) in table order; empty if there is no such table."""
    schema_name, table_name = table.split(".")
    rows = con.execute(
        load_sql("metadata/table_columns.sql"),
        {"schema_name": schema_name, "table_name": table_name},
    ).fetchall()
    return [
        Column(name, data_type, comment or None, nullable)
        for name, data_type, comment, nullable in rows
    ]


def table_comment(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The COMMENT of `table` (`schema.table`), None when it has none or does not exist."""
    schema_name, table_name = table.split(".")
    row = con.execute(
        load_sql("metadata/table_comment.sql"),
        {"schema_name": schema_name, "table_name": table_name},
    ).fetchone()
    return (row[0] or None) if row else None


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Every row of `table`, tombstoned ones included."""
    (count,) = one_row(con, load_sql("tables/count_rows.sql", table=table))
    return int(count)


def published_preview(
    con: duckdb.DuckDBPyConnection, table: str, limit: int = PREVIEW_ROWS
) -> Preview:
    """Up to `limit` rows of what the snapshot publishes of `table`, latest first.

    Reads the table's contract SELECT, so only the published columns appear (KeyError for a
    table the contract does not publish).
    """
    sql = load_sql("metadata/published_preview.sql", contract_select=contract_select(table))
    result = con.execute(sql, {"limit": limit})
    columns = [column[0] for column in result.description or []]
    return Preview(columns, result.fetchall())


def recent_volume(con: duckdb.DuckDBPyConnection) -> RecentVolume:
    """Bookings created and cancelled lately, from analytics.booking_volume_daily."""
    row = con.execute(load_sql("metadata/recent_booking_volume.sql")).fetchone()
    if row is None:
        raise RuntimeError("analytics.report_settings is empty: rebuild the analytics layer")
    last_day, *counts = row
    return RecentVolume(last_day, *(int(count) for count in counts))
