"""Plain data-quality checks over the core and analytics tables.

Each returns a :class:`CheckOutcome`; the Dagster layer wraps them as asset checks (ERROR
outcomes are meant to block downstream assets and the publish step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import duckdb

from meetergo_pipeline.transform.settings import TransformSettings

Severity = Literal["WARN", "ERROR"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# usage_billing_monthly.alert_status -> (severity, passed) of the plan check.
_PLAN_ALERT_OUTCOMES: dict[str, tuple[Severity, bool]] = {
    "ok": ("WARN", True),
    "warn": ("WARN", False),
    "over_plan": ("ERROR", False),
}


# (table, id column) pairs that must be unique and non-null; used by run_checks.
KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("core.users", "user_id"),
    ("core.meeting_types", "meeting_type_id"),
    ("core.appointments", "appointment_id"),
    ("core.booking_events", "event_key"),
    ("analytics.metered_bookings", "appointment_id"),
)


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check: ``passed`` False means the problem at ``severity`` was found."""

    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def run_checks(
    con: duckdb.DuckDBPyConnection,
    settings: TransformSettings,
    reconciliation_threshold: int = 0,
) -> dict[str, CheckOutcome]:
    """Every standard check over a built core and analytics layer, by stable check name."""
    outcomes: dict[str, CheckOutcome] = {}
    for table, column in KEY_COLUMNS:
        name = table.replace(".", "_")
        outcomes[f"{name}_unique_{column}"] = check_unique_ids(con, table, column)
        outcomes[f"{name}_non_null_{column}"] = check_non_null_keys(con, table, [column])
    outcomes["core_appointments_non_null_state"] = check_non_null_keys(
        con, "core.appointments", ["status", "source"]
    )
    outcomes["core_appointments_reference_known_entities"] = (
        check_appointments_reference_known_entities(con)
    )
    outcomes["usage_against_plan"] = check_usage_against_plan(con, settings)
    outcomes["webhook_reconciliation"] = check_reconciliation(con, reconciliation_threshold)
    return outcomes


def check_unique_ids(con: duckdb.DuckDBPyConnection, table: str, column: str) -> CheckOutcome:
    """No id in ``table.column`` appears twice (ERROR)."""
    table_sql, column_sql = _qualified(table), _quoted(column)
    rows, duplicated_ids, sample = con.execute(
        f"""
        WITH id_counts AS (
            SELECT {column_sql} AS id, count(*) AS occurrences
            FROM {table_sql} WHERE {column_sql} IS NOT NULL GROUP BY ALL
        )
        SELECT
            (SELECT count(*) FROM {table_sql}),
            count(*) FILTER (WHERE occurrences > 1),
            list(CAST(id AS VARCHAR) ORDER BY id) FILTER (WHERE occurrences > 1)[1:5]
        FROM id_counts
        """
    ).fetchone()
    passed = duplicated_ids == 0
    return CheckOutcome(
        passed=passed,
        severity="ERROR",
        description=(
            f"{table}.{column} is unique"
            if passed
            else f"{duplicated_ids} {column} value(s) occur more than once in {table}"
        ),
        metadata={"rows": rows, "duplicated_ids": duplicated_ids, "sample": sample or []},
    )


def check_non_null_keys(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]
) -> CheckOutcome:
    """None of ``columns`` is NULL in any row of ``table`` (ERROR)."""
    if not columns:
        raise ValueError("check_non_null_keys needs at least one column")
    counts_sql = ", ".join(
        f"count(*) FILTER (WHERE {_quoted(column)} IS NULL)" for column in columns
    )
    null_counts = con.execute(f"SELECT {counts_sql} FROM {_qualified(table)}").fetchone()
    nulls = {column: int(count) for column, count in zip(columns, null_counts, strict=True)}
    offending = {column: count for column, count in nulls.items() if count}
    return CheckOutcome(
        passed=not offending,
        severity="ERROR",
        description=(
            f"{table}: no NULL in {', '.join(columns)}"
            if not offending
            else f"{table}: NULL keys found: "
            + ", ".join(f"{column} ({count} rows)" for column, count in offending.items())
        ),
        metadata={"null_counts": nulls},
    )


def check_appointments_reference_known_entities(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Every appointment's meeting type and host exist in core (WARN).

    A webhook can announce a booking before the next API sync brings its meeting type or
    host, so a miss is a warning, not a blocker.
    """
    unknown_meeting_types, unknown_hosts, sample = con.execute(
        """
        WITH dangling_references AS (
            SELECT
                a.appointment_id,
                a.meeting_type_id IS NOT NULL AND mt.meeting_type_id IS NULL
                    AS unknown_meeting_type,
                a.host_user_id IS NOT NULL AND u.user_id IS NULL AS unknown_host
            FROM core.appointments AS a
            LEFT JOIN core.meeting_types AS mt ON mt.meeting_type_id = a.meeting_type_id
            LEFT JOIN core.users AS u ON u.user_id = a.host_user_id
        )
        SELECT
            count(*) FILTER (WHERE unknown_meeting_type),
            count(*) FILTER (WHERE unknown_host),
            list(appointment_id ORDER BY appointment_id)
                FILTER (WHERE unknown_meeting_type OR unknown_host)[1:5]
        FROM dangling_references
        """
    ).fetchone()
    passed = unknown_meeting_types == 0 and unknown_hosts == 0
    return CheckOutcome(
        passed=passed,
        severity="WARN",
        description=(
            "every appointment references a known meeting type and host"
            if passed
            else f"{unknown_meeting_types} appointment(s) reference an unknown meeting type, "
            f"{unknown_hosts} an unknown host user"
        ),
        metadata={
            "unknown_meeting_types": unknown_meeting_types,
            "unknown_hosts": unknown_hosts,
            "sample_appointment_ids": sample or [],
        },
    )


def check_usage_against_plan(
    con: duckdb.DuckDBPyConnection, settings: TransformSettings
) -> CheckOutcome:
    """The running month's metered bookings stay clear of the plan, as graded in SQL.

    Reads the running month's row of ``analytics.usage_billing_monthly`` (its ``alert_rule``
    and ``alert_status`` columns hold the rule, see that model): fails as ERROR when the bookings
    so far have reached the included amount, or when a projection built on at least
    14 days of metered history reaches it; fails as WARN from 80 % of the plan, actual or
    projected, and when a projection on thinner history reaches the plan; passes otherwise.
    The metadata names the rule that fired and the figures it saw. ``settings`` is accepted
    for a uniform check signature: the figures come from the build itself.
    """
    del settings
    row = con.execute(
        """
        SELECT
            u.billing_month, u.alert_rule, u.alert_status, u.api_bookings,
            u.plan_included_bookings, u.share_of_plan, u.projected_api_bookings,
            u.projected_share_of_plan, u.projection_history_days, u.projection_daily_rate,
            u.estimated_cost, u.projected_estimated_cost, u.currency
        FROM analytics.usage_billing_monthly AS u
        JOIN analytics.report_settings AS s ON s.running_month = u.billing_month
        """
    ).fetchone()
    if row is None:
        raise RuntimeError(
            "analytics.usage_billing_monthly has no row for the running month: "
            "rebuild the analytics layer (build_analytics)"
        )
    (
        billing_month,
        rule,
        status,
        api_bookings,
        included,
        share,
        projected,
        projected_share,
        history_days,
        daily_rate,
        cost,
        projected_cost,
        currency,
    ) = row
    severity, passed = _PLAN_ALERT_OUTCOMES[status]

    used = "the plan includes none" if share is None else f"{share:.0%} of {included} included"
    outlook = "" if projected_share is None else f" ({projected_share:.0%})"
    return CheckOutcome(
        passed=passed,
        severity=severity,
        description=(
            f"{billing_month:%Y-%m} {status} ({rule}): {api_bookings} metered bookings so far "
            f"({used}), projected {projected}{outlook} from {history_days:g} days of history; "
            f"estimated cost {cost} {currency} so far, {projected_cost} {currency} projected"
        ),
        metadata={
            "rule": rule,
            "alert_status": status,
            "billing_month": billing_month.isoformat(),
            "api_bookings": api_bookings,
            "plan_included_bookings": included,
            "share_of_plan": share,
            "projected_api_bookings": projected,
            "projected_share_of_plan": projected_share,
            "projection_history_days": history_days,
            "projection_daily_rate": daily_rate,
            "estimated_cost": float(cost),
            "projected_estimated_cost": float(projected_cost),
            "currency": currency,
        },
    )


def check_reconciliation(
    con: duckdb.DuckDBPyConnection, threshold: int = 0, since: date | None = None
) -> CheckOutcome:
    """Webhook/API mismatches (analytics.webhook_reconciliation) stay at or below ``threshold``.

    Sums ``total_mismatches`` over days on or after ``since`` (all days when None); WARN.
    """
    totals = con.execute(
        """
        SELECT
            coalesce(sum(events_without_api_appointment), 0),
            coalesce(sum(creations_without_event), 0),
            coalesce(sum(cancellations_without_event), 0),
            coalesce(sum(reschedules_without_event), 0),
            coalesce(sum(state_disagreements), 0),
            coalesce(sum(total_mismatches), 0)
        FROM analytics.webhook_reconciliation
        WHERE $since IS NULL OR day >= $since
        """,
        {"since": since},
    ).fetchone()
    names = (
        "events_without_api_appointment",
        "creations_without_event",
        "cancellations_without_event",
        "reschedules_without_event",
        "state_disagreements",
        "total_mismatches",
    )
    metadata: dict[str, Any] = {name: int(value) for name, value in zip(names, totals, strict=True)}
    metadata["threshold"] = threshold
    metadata["since"] = since.isoformat() if since else None
    mismatches = metadata["total_mismatches"]
    passed = mismatches <= threshold
    return CheckOutcome(
        passed=passed,
        severity="WARN",
        description=(
            f"{mismatches} webhook/API mismatch(es), threshold {threshold}"
            + ("" if passed else ": webhooks may be missed or the API sync is stale")
        ),
        metadata=metadata,
    )


def _quoted(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return f'"{identifier}"'


def _qualified(table: str) -> str:
    """``schema.table`` (or ``table``) validated and quoted."""
    return ".".join(_quoted(part) for part in table.split("."))
