"""Materialization metadata: what the Dagster UI shows about each table after a build.

Every table asset gets `dagster/row_count` and `dagster/column_schema` (types and the DuckDB
column COMMENTs), which Dagster's own views display, and the table's COMMENT. Numbers are
int or float metadata, so Dagster plots them across materializations. Previews show only
what the snapshot publishes (`warehouse/describe.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema

from meetergo_pipeline.warehouse.describe import (
    Preview,
    published_preview,
    recent_volume,
    row_count,
    table_columns,
    table_comment,
)
from meetergo_pipeline.warehouse.sync import SyncReport

Metadata = dict[str, Any]
ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"


def table_metadata(con: duckdb.DuckDBPyConnection, table: str) -> Metadata:
    """Row count (every row, tombstoned ones included), column schema and COMMENT of `table`."""
    schema = TableSchema(
        columns=[
            TableColumn(
                column.name,
                column.data_type,
                description=column.comment,
                constraints=TableColumnConstraints(nullable=column.nullable),
            )
            for column in table_columns(con, table)
        ]
    )
    metadata: Metadata = {
        ROW_COUNT: MetadataValue.int(row_count(con, table)),
        COLUMN_SCHEMA: MetadataValue.table_schema(schema),
    }
    comment = table_comment(con, table)
    if comment:
        metadata["table_comment"] = MetadataValue.text(comment)
    return metadata


def preview_metadata(con: duckdb.DuckDBPyConnection, table: str) -> Metadata:
    """`preview`: a markdown table of the latest published rows of `table`."""
    return {"preview": MetadataValue.md(preview_markdown(published_preview(con, table)))}


def preview_markdown(preview: Preview) -> str:
    """The preview as a markdown table (only its header when there are no rows)."""
    lines = [
        _markdown_row(preview.columns),
        _markdown_row(["---"] * len(preview.columns)),
        *(_markdown_row([_cell(value) for value in row]) for row in preview.rows),
    ]
    return "\n".join(lines)


def api_sync_metadata(report: SyncReport, table: str) -> Metadata:
    """The sync's figures for one raw API table, and the run's requests, 429s and budget wait.

    `mode`: `incremental`, `incremental + re-scan` or `full sweep`; `rows_updated`: stored rows
    the API listed again (payload replaced); `rows_tombstoned`: rows a full sweep no longer
    saw, now marked `deleted_at`; `budget_wait_s`: seconds requests waited for the rate budget.
    """
    return {
        "mode": MetadataValue.text(report.kind),
        "requests_spent": MetadataValue.int(report.requests_spent),
        "answered_429": MetadataValue.int(report.rate_limited),
        "budget_wait_s": MetadataValue.float(round(report.budget_wait_s, 2)),
        "pages": MetadataValue.int(report.pages.get(table, 0)),
        "rows_new": MetadataValue.int(report.rows_new.get(table, 0)),
        "rows_updated": MetadataValue.int(report.rows_updated.get(table, 0)),
        "rows_tombstoned": MetadataValue.int(report.vanished.get(table, 0)),
    }


def usage_metadata(figures: Mapping[str, Any]) -> Metadata:
    """The running month's billing figures, from the `usage_within_plan` check's metadata
    (`check_usage_against_plan`: the mart's row for the running month). A figure the month
    does not have (no projection, a plan including nothing) is left out."""
    numbers = {
        "metered_bookings": ("api_bookings", int),
        "share_of_plan": ("share_of_plan", float),
        "projected_bookings": ("projected_api_bookings", float),
        "projected_share_of_plan": ("projected_share_of_plan", float),
        "estimated_cost": ("estimated_cost", float),
        "projected_estimated_cost": ("projected_estimated_cost", float),
    }
    metadata: Metadata = {
        "running_month": MetadataValue.text(str(figures["billing_month"])),
        "currency": MetadataValue.text(str(figures["currency"])),
        "alert_status": MetadataValue.text(str(figures["alert_status"])),
    }
    for key, (figure, kind) in numbers.items():
        value = figures.get(figure)
        if value is not None:
            metadata[key] = (
                MetadataValue.int(int(value)) if kind is int else MetadataValue.float(float(value))
            )
    return metadata


def volume_metadata(con: duckdb.DuckDBPyConnection) -> Metadata:
    """Bookings created and cancelled on the last complete day and in the last seven."""
    volume = recent_volume(con)
    return {
        "last_day": MetadataValue.text(volume.last_day.isoformat()),
        "bookings_created_last_day": MetadataValue.int(volume.created_last_day),
        "bookings_cancelled_last_day": MetadataValue.int(volume.cancelled_last_day),
        "bookings_created_last_7_days": MetadataValue.int(volume.created_last_7_days),
        "bookings_cancelled_last_7_days": MetadataValue.int(volume.cancelled_last_7_days),
    }


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
