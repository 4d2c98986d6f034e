"""Raw layer: the API sync and the webhook log, each landing as-received JSON in DuckDB."""

from dataclasses import asdict
from typing import Literal

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    asset,
    multi_asset,
)

from meetergo_pipeline.defs.resources import (
    MeetergoAPIResource,
    MeetergoWarehouse,
    SyncSettings,
    WebhookLogResource,
)
from meetergo_pipeline.warehouse.sync import sync_api_to_raw
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs

RAW_API_TABLES = ("users", "meeting_types", "appointments")


class ApiSyncConfig(Config):
    """`incremental` (new bookings + periodic re-scan window) or `full` (sweep everything)."""

    mode: Literal["incremental", "full"] = "incremental"


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["raw", table]),
            description=f"meetergo {table.replace('_', ' ')}: one row per id, JSON payload kept.",
            group_name="raw",
            kinds={"duckdb"},
        )
        for table in RAW_API_TABLES
    ],
)
def raw_api_tables(
    context: AssetExecutionContext,
    config: ApiSyncConfig,
    meetergo_api: MeetergoAPIResource,
    warehouse: MeetergoWarehouse,
    sync_settings: SyncSettings,
):
    with meetergo_api.open_client() as client, warehouse.get_connection() as con:
        report = sync_api_to_raw(
            con,
            client,
            mode=config.mode,
            policy=sync_settings.policy(),
            run_id=context.run_id,
            progress=context.log.info,
        )
        counts = _live_row_counts(con)
    context.log.info(
        f"sync finished: mode {report.mode}, {report.requests_spent} requests, "
        f"{report.rate_limited} answered 429"
    )
    for table in RAW_API_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw", table]),
            metadata={
                "rows": counts[table],
                "requests_spent": report.requests_spent,
                "answered_429": report.rate_limited,
                "mode": report.mode,
                "rescanned": report.rescanned,
                "attempt": context.retry_number + 1,
                "vanished": report.vanished.get(f"raw.{table}", 0),
            },
        )


@asset(key=["raw", "webhook_events"], group_name="raw", kinds={"duckdb"})
def raw_webhook_events(
    context: AssetExecutionContext, warehouse: MeetergoWarehouse, webhook_log: WebhookLogResource
) -> MaterializeResult:
    """Deduplicated webhook events read incrementally from the receiver's JSONL log."""
    with warehouse.get_connection() as con:
        result = ingest_webhook_logs(con, webhook_log.path)
        (rows,) = con.execute("SELECT count(*) FROM raw.webhook_events").fetchone()  # type: ignore[misc]
    context.log.info(f"webhook log: {result}")
    return MaterializeResult(metadata={"rows": rows, **asdict(result)})


def _live_row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        table: con.execute(f"SELECT count(*) FROM raw.{table} WHERE deleted_at IS NULL").fetchone()[
            0
        ]
        for table in RAW_API_TABLES
    }
