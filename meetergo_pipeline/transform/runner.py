"""Build the core and analytics layers in DuckDB from the raw layer.

Every model is one ``.sql`` file under ``meetergo_pipeline/sql/{core,analytics}``: one
``CREATE OR REPLACE TABLE`` followed by its ``COMMENT ON`` statements. A layer is rebuilt in
one transaction, so readers see the old tables or the new ones and a failure leaves the
previous build in place. Rebuilding from the same raw rows (and the same ``now``) gives the
same tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import duckdb

from meetergo_pipeline.transform.settings import TransformSettings, validate_against_database

CORE_MODELS: tuple[str, ...] = (
    "users",
    "meeting_types",
    "booking_events",
    "api_appointments",
    "appointments",
)
ANALYTICS_MODELS: tuple[str, ...] = (
    "report_settings",
    "metered_bookings",
    "booking_volume_daily",
    "usage_billing_monthly",
    "usage_billing_by_user",
    "webhook_reconciliation",
)


def build_core(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> dict[str, int]:
    """Rebuild every ``core.*`` table from ``raw.*``; returns row counts by qualified table.

    Runs in its own transaction (call it outside an open one); on error nothing changes.
    ``now`` is accepted for a uniform builder signature: the core layer is a pure function of
    the raw tables and does not read the clock.
    """
    del now
    with _layer_transaction(con, "core"):
        for model in CORE_MODELS:
            _run_model(con, "core", model)
        return _row_counts(con, "core", CORE_MODELS)


def build_analytics(
    con: duckdb.DuckDBPyConnection,
    settings: TransformSettings,
    now: datetime | None = None,
) -> dict[str, int]:
    """Rebuild every ``analytics.*`` table from ``core.*``; returns row counts by table.

    ``now`` (timezone-aware; default: the current time) decides the running billing month and
    its projection. Raises ``ValueError`` naming the env var when a setting is unusable,
    before anything is written. Runs in its own transaction, like :func:`build_core`.
    """
    as_of = datetime.now(UTC) if now is None else now
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    _require_core(con)
    validate_against_database(con, settings)

    predicate = settings.metered_booking_predicate
    comment_values = {
        "reporting_timezone": settings.reporting_timezone,
        "metered_booking_rule": predicate,
        "plan_included_bookings": str(settings.plan_included_bookings),
        "plan_price_per_booking": _price_text(settings.plan_price_per_booking),
        "plan_currency": settings.plan_currency,
    }
    # Values inside COMMENT string literals are escaped; only the predicate goes in as SQL.
    replacements = {key: _sql_string_body(value) for key, value in comment_values.items()}
    replacements["metered_booking_predicate"] = predicate
    settings_parameters = {
        "reporting_timezone": settings.reporting_timezone,
        "metered_booking_predicate": predicate,
        "plan_included_bookings": settings.plan_included_bookings,
        "plan_price_per_booking": str(settings.plan_price_per_booking),
        "plan_currency": settings.plan_currency,
        "as_of": as_of,
    }
    with _layer_transaction(con, "analytics"):
        for model in ANALYTICS_MODELS:
            parameters = settings_parameters if model == "report_settings" else None
            _run_model(con, "analytics", model, replacements, parameters)
        return _row_counts(con, "analytics", ANALYTICS_MODELS)


def load_model_sql(layer: str, model: str) -> str:
    """The text of ``meetergo_pipeline/sql/<layer>/<model>.sql`` (packaged resource)."""
    return (
        resources.files("meetergo_pipeline.sql").joinpath(layer, f"{model}.sql").read_text("utf-8")
    )


def _run_model(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    model: str,
    replacements: Mapping[str, str] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> None:
    """Run one model file statement by statement.

    ``{{name}}`` placeholders are filled from ``replacements``; bound ``parameters`` go to the
    file's first statement (the CREATE), the COMMENT statements after it take none.
    """
    sql = load_model_sql(layer, model)
    for name, value in (replacements or {}).items():
        sql = sql.replace("{{" + name + "}}", value)
    if "{{" in sql:
        raise RuntimeError(f"unfilled placeholder in {layer}/{model}.sql")
    statements = con.extract_statements(sql)
    for index, statement in enumerate(statements):
        if index == 0 and parameters is not None:
            con.execute(statement.query, dict(parameters))
        else:
            con.execute(statement.query)


@contextmanager
def _layer_transaction(con: duckdb.DuckDBPyConnection, schema: str) -> Iterator[None]:
    """One transaction for a whole layer, with the session time zone pinned to UTC.

    The pin makes any offset-less timestamp text in payloads read as UTC and is restored
    afterwards; reporting time zones are applied explicitly in the SQL.
    """
    (previous_zone,) = con.execute("SELECT current_setting('TimeZone')").fetchone()
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.execute(f"SET TimeZone = '{_sql_string_body(str(previous_zone))}'")


def _row_counts(
    con: duckdb.DuckDBPyConnection, schema: str, models: Sequence[str]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in models:
        (count,) = con.execute(f"SELECT count(*) FROM {schema}.{model}").fetchone()
        counts[f"{schema}.{model}"] = int(count)
    return counts


def _require_core(con: duckdb.DuckDBPyConnection) -> None:
    (present,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'core' AND table_name IN "
        "('users', 'appointments')"
    ).fetchone()
    if present < 2:
        raise RuntimeError("core tables are missing: run build_core before build_analytics")


def _price_text(price: float | Decimal) -> str:
    """The price with at least two decimals and no precision lost (0.5 -> 0.50, 0.125)."""
    exact = Decimal(str(price))
    return f"{exact:.2f}" if exact == exact.quantize(Decimal("0.01")) else f"{exact:f}"


def _sql_string_body(value: str) -> str:
    """``value`` made safe inside a single-quoted SQL string literal."""
    return value.replace("'", "''")
