"""Core and analytics SQL layers over the raw meetergo tables, run from plain Python.

    from meetergo_pipeline.transform import (
        TransformSettings, build_analytics, build_core, run_checks,
    )
    settings = TransformSettings.from_env()
    build_core(con)
    build_analytics(con, settings)
    outcomes = run_checks(con, settings)  # name -> CheckOutcome

Settings and their environment variables are described in
:mod:`meetergo_pipeline.transform.settings`; the checks in :mod:`.checks`.
"""

from meetergo_pipeline.transform.checks import (
    CheckOutcome,
    check_appointments_reference_known_entities,
    check_non_null_keys,
    check_reconciliation,
    check_unique_ids,
    check_usage_against_plan,
    run_checks,
)
from meetergo_pipeline.transform.runner import (
    ANALYTICS_MODELS,
    CORE_MODELS,
    build_analytics,
    build_core,
    load_model_sql,
)
from meetergo_pipeline.transform.settings import (
    ENV_METERED_BOOKING_PREDICATE,
    ENV_PLAN_CURRENCY,
    ENV_PLAN_INCLUDED_BOOKINGS,
    ENV_PLAN_PRICE_PER_BOOKING,
    ENV_REPORTING_TIMEZONE,
    TransformSettings,
    validate_against_database,
)

__all__ = [
    "ANALYTICS_MODELS",
    "CORE_MODELS",
    "ENV_METERED_BOOKING_PREDICATE",
    "ENV_PLAN_CURRENCY",
    "ENV_PLAN_INCLUDED_BOOKINGS",
    "ENV_PLAN_PRICE_PER_BOOKING",
    "ENV_REPORTING_TIMEZONE",
    "CheckOutcome",
    "TransformSettings",
    "build_analytics",
    "build_core",
    "check_appointments_reference_known_entities",
    "check_non_null_keys",
    "check_reconciliation",
    "check_unique_ids",
    "check_usage_against_plan",
    "load_model_sql",
    "run_checks",
    "validate_against_database",
]
