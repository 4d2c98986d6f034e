"""Core layer: one row per entity, the booking lifecycle from API reads and webhook events."""

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)

from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.defs.resources import MeetergoWarehouse
from meetergo_pipeline.transform import (
    build_core,
    check_appointments_reference_known_entities,
    check_non_null_keys,
    check_unique_ids,
)
from meetergo_pipeline.warehouse.checks import check_row_counts_against_api

RAW = [AssetKey(["raw", t]) for t in ("users", "meeting_types", "appointments", "webhook_events")]
CORE_KEYS = {
    "users": "user_id",
    "api_appointments": "appointment_id",
    "meeting_types": "meeting_type_id",
    "appointments": "appointment_id",
    "booking_events": "event_key",
}
APPOINTMENTS = AssetKey(["core", "appointments"])


@multi_asset(
    specs=[
        AssetSpec(AssetKey(["core", table]), deps=RAW, group_name="core", kinds={"duckdb"})
        for table in CORE_KEYS
    ],
    check_specs=[
        *(
            AssetCheckSpec(f"unique_{key}", asset=AssetKey(["core", table]), blocking=True)
            for table, key in CORE_KEYS.items()
        ),
        AssetCheckSpec("non_null_keys", asset=APPOINTMENTS, blocking=True),
        AssetCheckSpec("references_known_entities", asset=APPOINTMENTS),
        AssetCheckSpec("row_counts_against_api", asset=APPOINTMENTS, blocking=True),
    ],
)
def core_tables(context: AssetExecutionContext, warehouse: MeetergoWarehouse):
    """Rebuilds every core table from raw (see meetergo_pipeline/sql/core)."""
    with warehouse.get_connection() as con:
        counts = build_core(con)
        for table, key in CORE_KEYS.items():
            yield MaterializeResult(
                asset_key=AssetKey(["core", table]), metadata={"rows": counts[f"core.{table}"]}
            )
            outcome = check_unique_ids(con, f"core.{table}", key)
            yield to_check_result(AssetKey(["core", table]), f"unique_{key}", outcome)
        non_null = check_non_null_keys(
            con, "core.appointments", ["appointment_id", "start_at", "status"]
        )
        yield to_check_result(APPOINTMENTS, "non_null_keys", non_null)
        references = check_appointments_reference_known_entities(con)
        yield to_check_result(APPOINTMENTS, "references_known_entities", references)
        row_counts = check_row_counts_against_api(con)
        yield to_check_result(APPOINTMENTS, "row_counts_against_api", row_counts)
    context.log.info(f"core rebuilt: {counts}")
