"""Build the core and analytics layers in DuckDB from the raw layer.

Every model is one ``.sql`` file under ``meetergo_pipeline/sql/{core,analytics}``: one
``CREATE OR REPLACE TABLE`` followed by its ``COMMENT ON`` statements, built in the order of
the model catalogue (:mod:`meetergo_pipeline.models`). A layer is rebuilt in
one transaction, so readers see the old tables or the new ones and a failure leaves the
previous build in place. Rebuilding from the same raw rows (and the same ``now``) gives the
same tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

from meetergo_pipeline.models import Layer, Model, models_in
from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.transform.metering import (
    drop_api_booking_ids,
    load_api_booking_ids,
    metered_rule_text,
)
from meetergo_pipeline.transform.settings import TransformSettings, validate_against_database
from meetergo_pipeline.warehouse.transaction import transaction


def build_core(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> dict[str, int]:
    """Rebuild every ``core.*`` table from ``raw.*``; returns row counts by qualified table.

    Runs in its own transaction (call it outside an open one); on error nothing changes.
    ``now`` is accepted for a uniform builder signature: the core layer is a pure function of
    the raw tables and does not read the clock.
    """
    del now
    with _layer_transaction(con, "core"):
        for model in models_in("core"):
            _run_model(con, model)
        return _row_counts(con, "core")


def build_analytics(
    con: duckdb.DuckDBPyConnection,
    settings: TransformSettings,
    now: datetime | None = None,
) -> dict[str, int]:
    """Rebuild every ``analytics.*`` table from ``core.*``; returns row counts by table.

    ``now`` (timezone-aware; default: the current time) decides the running billing month and
    its projection. Raises ``ValueError`` naming the env var when a setting is unusable (the
    appointment ids file included), before anything is written. Runs in its own transaction,
    like :func:`build_core`.
    """
    as_of = datetime.now(UTC) if now is None else now
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    _require_core(con)
    validate_against_database(con, settings)
    try:
        listed_ids = load_api_booking_ids(con, settings.api_bookings_file)
        return _build_marts(con, settings, as_of, listed_ids)
    finally:
        drop_api_booking_ids(con)


def _build_marts(
    con: duckdb.DuckDBPyConnection,
    settings: TransformSettings,
    as_of: datetime,
    listed_ids: int | None,
) -> dict[str, int]:
    """Every analytics model in catalogue order, in one transaction (the ids table loaded)."""
    predicate = settings.metered_booking_predicate
    ids_file = settings.api_bookings_file
    comment_values = {
        "reporting_timezone": settings.reporting_timezone,
        "metered_booking_rule": metered_rule_text(predicate, ids_file),
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
        "api_bookings_file": None if ids_file is None else ids_file.name,
        "api_booking_ids_listed": listed_ids,
        "as_of": as_of,
    }
    plans = settings.plans()
    parameters_of = {
        "report_settings": settings_parameters,
        "tenant_plans": {
            "tenant_ids": [plan.tenant_id for plan in plans],
            "included": [plan.included_bookings for plan in plans],
            "prices": [str(plan.price_per_booking) for plan in plans],
            "currencies": [plan.currency for plan in plans],
        },
    }
    with _layer_transaction(con, "analytics"):
        for model in models_in("analytics"):
            _run_model(con, model, replacements, parameters_of.get(model.name))
        return _row_counts(con, "analytics")


def _run_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    replacements: Mapping[str, str] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> None:
    """Run one model file statement by statement.

    ``{{name}}`` placeholders are filled from ``replacements`` (see ``meetergo_pipeline.sql``);
    bound ``parameters`` go to the file's first statement (the CREATE), the COMMENT
    statements after it take none.
    """
    sql = load_sql(model.sql_file, **(replacements or {}))
    statements = con.extract_statements(sql)
    for index, statement in enumerate(statements):
        if index == 0 and parameters is not None:
            con.execute(statement.query, dict(parameters))
        else:
            con.execute(statement.query)


@contextmanager
def _layer_transaction(con: duckdb.DuckDBPyConnection, schema: Layer) -> Iterator[None]:
    """One transaction for a whole layer, with the session time zone pinned to UTC.

    The pin makes any offset-less timestamp text in payloads read as UTC and is restored
    afterwards; reporting time zones are applied explicitly in the SQL.
    """
    (previous_zone,) = one_row(con, "SELECT current_setting('TimeZone')")
    con.execute("SET TimeZone = 'UTC'")
    try:
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            yield
    finally:
        con.execute(f"SET TimeZone = '{_sql_string_body(str(previous_zone))}'")


def _row_counts(con: duckdb.DuckDBPyConnection, layer: Layer) -> dict[str, int]:
    """Rows of every model of ``layer``, by qualified table name."""
    counts: dict[str, int] = {}
    for model in models_in(layer):
        (count,) = one_row(con, load_sql("tables/count_rows.sql", table=model.table))
        counts[model.table] = int(count)
    return counts


def _require_core(con: duckdb.DuckDBPyConnection) -> None:
    """Every core table the analytics models read exists (else: run build_core first)."""
    wanted = sorted(
        {
            table
            for model in models_in("analytics")
            for table in model.upstream
            if table.startswith("core.")
        }
    )
    (missing,) = one_row(con, load_sql("tables/missing_tables.sql"), {"tables": wanted})
    if missing:
        raise RuntimeError(
            f"core tables are missing ({', '.join(missing)}): run build_core before build_analytics"
        )


def _price_text(price: float | Decimal) -> str:
    """The price with at least two decimals and no precision lost (0.5 -> 0.50, 0.125)."""
    exact = Decimal(str(price))
    return f"{exact:.2f}" if exact == exact.quantize(Decimal("0.01")) else f"{exact:f}"


def _sql_string_body(value: str) -> str:
    """``value`` made safe inside a single-quoted SQL string literal."""
    return value.replace("'", "''")
