"""Core layer: one row per entity, the booking lifecycle from API reads and webhook events."""

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from meetergo_pipeline.defs.catalogue import (
    asset_key,
    asset_spec,
    check_spec,
    unique_key_check_results,
    unique_key_check_specs,
)
from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.defs.metadata import table_metadata
from meetergo_pipeline.defs.resources import MeetergoWarehouse
from meetergo_pipeline.models import model, models_in
from meetergo_pipeline.transform import (
    build_core,
    check_appointments_reference_known_entities,
    check_no_rejected_booking_events,
    check_non_null_keys,
)

APPOINTMENTS = asset_key(model("core.appointments"))
REJECTED_BOOKING_EVENTS = asset_key(model("core.rejected_booking_events"))


@multi_asset(
    specs=[asset_spec(core_model) for core_model in models_in("core")],
    check_specs=[
        *unique_key_check_specs("core"),
        check_spec("non_null_keys", APPOINTMENTS, blocking=True),
        check_spec("references_known_entities", APPOINTMENTS),
        check_spec("no_rejected_booking_events", REJECTED_BOOKING_EVENTS),
    ],
)
def core_tables(context: AssetExecutionContext, warehouse: MeetergoWarehouse):
    """Rebuilds every core table from raw (see meetergo_pipeline/sql/core)."""
    with warehouse.get_connection() as con:
        counts = build_core(con)
        for core_model in models_in("core"):
            yield MaterializeResult(
                asset_key=asset_key(core_model), metadata=table_metadata(con, core_model.table)
            )
        yield from unique_key_check_results(con, "core")
        non_null = check_non_null_keys(
            con, "core.appointments", ["appointment_id", "start_at", "status"]
        )
        yield to_check_result(APPOINTMENTS, "non_null_keys", non_null)
        references = check_appointments_reference_known_entities(con)
        yield to_check_result(APPOINTMENTS, "references_known_entities", references)
        rejected = check_no_rejected_booking_events(con)
        yield to_check_result(REJECTED_BOOKING_EVENTS, "no_rejected_booking_events", rejected)
    context.log.info(f"core rebuilt: {counts}")
