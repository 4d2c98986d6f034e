"""Raw layer: the API sync and the webhook log, each landing as-received JSON in DuckDB."""

from collections.abc import Iterator
from dataclasses import asdict
from typing import Literal

import duckdb
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)

from meetergo_pipeline.client import MeetergoError
from meetergo_pipeline.defs.catalogue import asset_key, asset_spec, check_spec
from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.defs.metadata import api_sync_metadata, table_metadata
from meetergo_pipeline.defs.resources import (
    MeetergoAPIResource,
    MeetergoWarehouse,
    SyncSettings,
    WebhookLogResource,
)
from meetergo_pipeline.defs.stopping import stop_ends_run
from meetergo_pipeline.models import model, raw_api_models
from meetergo_pipeline.problems import unrecoverable
from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.transform.checks import (
    check_row_counts_against_api,
    check_webhook_log_silence,
    combined_outcome,
)
from meetergo_pipeline.warehouse.sync import sync_api_to_raw
from meetergo_pipeline.warehouse.tenant_sync import sync_tenants
from meetergo_pipeline.webhooks.inbox import newest_receipt
from meetergo_pipeline.webhooks.inbox_ingest import ingest_webhook_inbox
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs

APPOINTMENTS = asset_key(model("raw.appointments"))
WEBHOOK_EVENTS_MODEL = model("raw.webhook_events")
WEBHOOK_EVENTS = asset_key(WEBHOOK_EVENTS_MODEL)


class ApiSyncConfig(Config):
    """`incremental` (new bookings + periodic re-scan window) or `full` (sweep everything)."""

    mode: Literal["incremental", "full"] = "incremental"


def build_raw_api_asset(tenant_ids: tuple[str, ...] | None = None) -> AssetsDefinition:
    """The raw API step: the one default tenant (`tenant_ids` None, no tenants file), or one
    partition per tenant of the tenants file, every partition of a run synced in that one
    run (`BackfillPolicy.single_run`, see `_sync_tenants`)."""
    if tenant_ids is None:
        return _default_tenant_asset
    return _tenant_partitioned_asset(tenant_ids)


# In a sync the API is read before the webhook log is ingested, so the events that arrived
# meanwhile are newer than the API's state and core applies them on top of it.
@multi_asset(
    name="raw_api_tables",
    specs=[asset_spec(api_model) for api_model in raw_api_models()],
    check_specs=[check_spec("row_counts_against_api", APPOINTMENTS, blocking=True)],
    op_tags={"dagster/priority": "1"},
)
def _default_tenant_asset(
    context: AssetExecutionContext,
    config: ApiSyncConfig,
    meetergo_api: MeetergoAPIResource,
    warehouse: MeetergoWarehouse,
    sync_settings: SyncSettings,
):
    """Syncs the meetergo API into the raw tables (see meetergo_pipeline/warehouse/sync.py).

    A refused key, a base URL that stays unreachable through the client's connect retries or
    a file that cannot be written fails the step at once, without the step retries: retrying
    would only repeat the same failure later.
    """
    try:
        with (
            stop_ends_run(),
            meetergo_api.open_client() as client,
            warehouse.get_connection() as con,
        ):
            report = sync_api_to_raw(
                con,
                client,
                mode=config.mode,
                policy=sync_settings.policy(),
                run_id=context.run_id,
                progress=context.log.info,
            )
            counts = _live_row_counts(con)
            described = {
                api_model.table: table_metadata(con, api_model.table)
                for api_model in raw_api_models()
            }
            row_counts = check_row_counts_against_api(con)
    except (MeetergoError, OSError) as error:
        message = unrecoverable(error)
        if message is None:
            raise
        raise Failure(description=message, allow_retries=False) from None
    context.log.info(
        f"sync finished: mode {report.mode}, {report.requests_spent} requests, "
        f"{report.rate_limited} answered 429"
    )
    for api_model in raw_api_models():
        yield MaterializeResult(
            asset_key=asset_key(api_model),
            metadata={
                **described[api_model.table],
                "live_rows": counts[api_model.table],
                **api_sync_metadata(report, api_model.table),
                "attempt": context.retry_number + 1,
            },
        )
    yield to_check_result(APPOINTMENTS, "row_counts_against_api", row_counts)


def _tenant_partitioned_asset(tenant_ids: tuple[str, ...]) -> AssetsDefinition:
    @multi_asset(
        name="raw_api_tables",
        specs=[asset_spec(api_model) for api_model in raw_api_models()],
        check_specs=[check_spec("row_counts_against_api", APPOINTMENTS, blocking=True)],
        op_tags={"dagster/priority": "1"},
        partitions_def=StaticPartitionsDefinition(list(tenant_ids)),
        backfill_policy=BackfillPolicy.single_run(),
    )
    def raw_api_tables(
        context: AssetExecutionContext,
        config: ApiSyncConfig,
        meetergo_api: MeetergoAPIResource,
        warehouse: MeetergoWarehouse,
        sync_settings: SyncSettings,
    ):
        """Syncs each tenant of the run's partitions into the raw tables, a few at a time,
        each with its own key and budget (see meetergo_pipeline/warehouse/tenant_sync.py).

        When every tenant synced, every partition is materialized. When some failed (a
        refused key, an outage), the tenants that synced are materialized partition by
        partition and the step then fails naming the others, without step retries: the
        failed tenants' partitions show as failed, and `meetergo-pipeline sync` (or the
        `meetergo_partial_sync_rebuild` sensor) rebuilds core, analytics and the snapshot
        from what did arrive.
        """
        yield from _sync_tenants(context, config, meetergo_api, warehouse, sync_settings)

    return raw_api_tables


def _sync_tenants(
    context: AssetExecutionContext,
    config: ApiSyncConfig,
    meetergo_api: MeetergoAPIResource,
    warehouse: MeetergoWarehouse,
    sync_settings: SyncSettings,
) -> Iterator[MaterializeResult | AssetMaterialization | AssetCheckResult]:
    """The partitioned step's body: sync the run's tenants, then materialize all of them, or
    the synced ones partition by partition and fail naming the others."""
    tenant_ids = context.partition_keys
    with stop_ends_run(), warehouse.get_connection() as con:
        synced = sync_tenants(
            con,
            tenant_ids,
            meetergo_api.open_client,
            mode=config.mode,
            policy=sync_settings.policy(),
            run_id=context.run_id,
            progress=context.log.info,
            key_variables=meetergo_api.key_variables(),
        )
        described = {m.table: table_metadata(con, m.table) for m in raw_api_models()}
        checks = {t: check_row_counts_against_api(con, t) for t in synced.reports}
    context.log.info(
        f"sync finished: {len(synced.reports)} of {len(tenant_ids)} tenants, "
        f"{synced.requests_spent} requests"
    )
    per_tenant = {
        (tenant_id, api_model.table): {
            **api_sync_metadata(report, api_model.table),
            "tenant_id": tenant_id,
            "attempt": context.retry_number + 1,
        }
        for tenant_id, report in synced.reports.items()
        for api_model in raw_api_models()
    }
    if synced.failures:
        for (tenant_id, table), metadata in per_tenant.items():
            yield AssetMaterialization(
                asset_key=asset_key(model(table)),
                partition=tenant_id,
                metadata={**described[table], **metadata},
            )
        failed = "; ".join(f"tenant {t}: {m}" for t, m in sorted(synced.failures.items()))
        raise Failure(
            description=f"{len(synced.failures)} of {len(tenant_ids)} tenants failed: {failed}",
            metadata={"failed_tenants": sorted(synced.failures)},
            allow_retries=False,
        )
    for (tenant_id, table), metadata in per_tenant.items():
        context.add_asset_metadata(
            metadata, asset_key=asset_key(model(table)), partition_key=tenant_id
        )
    for api_model in raw_api_models():
        yield MaterializeResult(
            asset_key=asset_key(api_model),
            metadata={**described[api_model.table], "tenants": len(tenant_ids)},
        )
    yield to_check_result(APPOINTMENTS, "row_counts_against_api", combined_outcome(checks))


@asset(
    key=WEBHOOK_EVENTS,
    description=WEBHOOK_EVENTS_MODEL.description,
    group_name="raw",
    kinds={"duckdb"},
    check_specs=[check_spec("webhook_log_not_silent", WEBHOOK_EVENTS)],
)
def raw_webhook_events(
    context: AssetExecutionContext, warehouse: MeetergoWarehouse, webhook_log: WebhookLogResource
):
    """Deduplicated webhook events read incrementally from the receiver's JSONL log, and from
    the PostgreSQL inbox when one is set."""
    with warehouse.get_connection() as con:
        result = ingest_webhook_logs(con, webhook_log.path)
        if webhook_log.inbox_url:
            result += ingest_webhook_inbox(con, webhook_log.inbox_url)
        described = table_metadata(con, WEBHOOK_EVENTS_MODEL.table)
    context.log.info(f"webhook log: {result}")
    yield MaterializeResult(metadata={**described, **asdict(result)})
    silence = check_webhook_log_silence(
        webhook_log.path,
        webhook_log.silence_warn_minutes,
        inbox_in_use=bool(webhook_log.inbox_url),
        inbox_newest=newest_receipt(webhook_log.inbox_url) if webhook_log.inbox_url else None,
    )
    yield to_check_result(WEBHOOK_EVENTS, "webhook_log_not_silent", silence)


def _live_row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows the API still lists, by raw table."""
    counts: dict[str, int] = {}
    for api_model in raw_api_models():
        sql = load_sql("raw/count_live_rows.sql", table=api_model.table)
        (counts[api_model.table],) = one_row(con, sql)
    return counts
