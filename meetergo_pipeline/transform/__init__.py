"""Core and analytics SQL layers over the raw meetergo tables, run from plain Python.

    from meetergo_pipeline.settings import Settings
    from meetergo_pipeline.transform import (
        TransformSettings, build_analytics, build_core, check_unique_ids,
    )
    settings = TransformSettings.from_settings(Settings.from_env())
    build_core(con)
    build_analytics(con, settings)
    outcome = check_unique_ids(con, "core.appointments", "appointment_id")  # CheckOutcome

The tables and their build order come from :mod:`meetergo_pipeline.models`; every
environment variable is read by :mod:`meetergo_pipeline.settings`; every check of the pipeline
is in :mod:`.checks`.
"""

from meetergo_pipeline.transform.checks import (
    CheckOutcome,
    check_appointments_reference_known_entities,
    check_no_rejected_booking_events,
    check_non_null_keys,
    check_reconciliation,
    check_row_counts_against_api,
    check_unique_ids,
    check_usage_against_plan,
    check_webhook_log_silence,
)
from meetergo_pipeline.transform.runner import build_analytics, build_core
from meetergo_pipeline.transform.settings import (
    TransformSettings,
    validate_against_database,
)

__all__ = [
    "CheckOutcome",
    "TransformSettings",
    "build_analytics",
    "build_core",
    "check_appointments_reference_known_entities",
    "check_no_rejected_booking_events",
    "check_non_null_keys",
    "check_reconciliation",
    "check_row_counts_against_api",
    "check_unique_ids",
    "check_usage_against_plan",
    "check_webhook_log_silence",
    "validate_against_database",
]
