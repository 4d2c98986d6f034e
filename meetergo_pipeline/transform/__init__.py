"""Core and analytics SQL layers over the raw meetergo tables, run from plain Python.

    from meetergo_pipeline.settings import Settings
    from meetergo_pipeline.transform import (
        TransformSettings, build_analytics, build_core, run_checks,
    )
    settings = TransformSettings.from_settings(Settings.from_env())
    build_core(con)
    build_analytics(con, settings)
    outcomes = run_checks(con, settings)  # name -> CheckOutcome

Every environment variable is read by :mod:`meetergo_pipeline.settings`; :mod:`.settings`
describes the analytics layer's part of them, :mod:`.checks` the checks.
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
    TransformSettings,
    validate_against_database,
)

__all__ = [
    "ANALYTICS_MODELS",
    "CORE_MODELS",
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
