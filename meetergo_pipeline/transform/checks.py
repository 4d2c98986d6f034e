"""Every data-quality check of the pipeline, as plain functions returning a CheckOutcome.

The checks judge the raw layer against what the API reported, the core and analytics tables,
and the webhook log. The Dagster assets attach each one to the asset it judges (ERROR
outcomes of blocking checks stop downstream assets and the publish step); their SQL lives
under ``meetergo_pipeline/sql/checks``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.tenants import DEFAULT_TENANT
from meetergo_pipeline.transform.settings import TransformSettings

Severity = Literal["WARN", "ERROR"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# usage_billing_monthly.alert_status -> (severity, passed) of the plan check.
_PLAN_ALERT_OUTCOMES: dict[str, tuple[Severity, bool]] = {
    "ok": ("WARN", True),
    "warn": ("WARN", False),
    "over_plan": ("ERROR", False),
}

# Live appointments falling below this share of the previous run's fail the row-count check.
MAX_DROP_SHARE = 0.5

# Appointment ids per reason the rejected-events check names in its metadata.
REJECTED_SAMPLE_SIZE = 10


# What each check protects and what to do when it fails, by the check's name in Dagster (the
# asset check's description in the UI). The unique-id checks share `UNIQUE_ID_DESCRIPTION`.
CHECK_DESCRIPTIONS: dict[str, str] = {
    "row_counts_against_api": (
        "Blocking. The raw tables hold what the API lists: live users equal the API's `total`, "
        "and live appointments did not fall below half of the previous run's. A halving means "
        "a broken read (another acting user, a key of another tenant), which would otherwise "
        "be published as a tenant losing its bookings. On failure: an ERROR stops everything "
        "downstream; check that MEETERGO_API_KEY and MEETERGO_API_USER_ID name the right "
        "tenant and admin, then run a full sweep (`meetergo-pipeline sync --mode full`). A "
        "WARN on the user count clears at the next sync when users were added during the run."
    ),
    "webhook_log_not_silent": (
        "Warning. Deliveries keep arriving in the webhook log (MEETERGO_WEBHOOK_LOG_DIR): "
        "without them cancellations and reschedules wait for the next API re-scan. Fails after "
        "MEETERGO_WEBHOOK_SILENCE_WARN_MINUTES without a delivery. On failure: check that the "
        "receiver runs (`GET /healthz`), is registered with meetergo (`GET /webhooks`) and "
        "writes to the folder the pipeline reads; a quiet tenant (nights, weekends) can be "
        "silent too."
    ),
    "non_null_keys": (
        "Blocking. Every appointment has appointment_id, start_at and status, which the marts, "
        "the billing count and the snapshot rely on. On failure: `null_counts` names the "
        "column; look for API payloads or webhook bodies without that field "
        "(raw.appointments.payload, raw.webhook_events.body); a changed API shape needs "
        "sql/core adjusted. Until then the marts and the snapshot stay as they were."
    ),
    "references_known_entities": (
        "Warning. Every appointment's meeting type and host exist in core.meeting_types and "
        "core.users, so volume per meeting type and host and billing per user attribute every "
        "booking. On failure: a webhook can announce a booking before the next sync brings its "
        "meeting type or host, so wait for the next sync; if the warning outlasts a full sweep, "
        "look up `sample_appointment_ids`: the acting user may not see every user of the "
        "company."
    ),
    "usage_within_plan": (
        "The running month's metered bookings against the plan (MEETERGO_PLAN_INCLUDED_BOOKINGS), "
        "so an overage is seen before it is billed: WARN from 80 % of the plan, actual or "
        "projected; ERROR once the bookings, or a projection on at least 14 days of history, "
        "reach it. On failure: the metadata has the rule that fired, the bookings so far, the "
        "projection and the estimated cost; raise the plan with meetergo or slow down API "
        "bookings, and check that MEETERGO_METERED_BOOKING_PREDICATE meters the right bookings."
    ),
    "reconciliation_within_threshold": (
        "Warning. Webhook events and API reads agree (analytics.webhook_reconciliation): more "
        "than MEETERGO_RECONCILIATION_WARN_THRESHOLD mismatches mean missed webhooks or a stale "
        "sync, so core.appointments may lag behind the tenant. On failure: the metadata says "
        "which count is high; events without an API appointment clear at the next sync, "
        "changes without an event point at the receiver (running, registered, log growing)."
    ),
    "no_rejected_booking_events": (
        "Warning. Every booking webhook event forms an appointment row: events of an "
        "appointment the API has not listed that cannot (no parseable start, an implausible "
        "creation time) are held in core.rejected_booking_events instead of stopping the run. "
        "On failure: the metadata counts them by reason with sample appointment ids; they "
        "clear once a sync reads the appointment from the API, else check the sender."
    ),
}
UNIQUE_ID_DESCRIPTION = (
    "Blocking. No {column} occurs twice in {table}: every join and count built on it relies "
    "on one row per {column}. On failure: the metadata's `sample` lists duplicated ids; the "
    "model's SQL (sql/{layer}/{name}.sql) joins or unions wrongly. Nothing built on the table, "
    "nor the snapshot, is updated until it is fixed."
)


def check_description(name: str) -> str:
    """The description of the check `name`; KeyError naming where to add a missing one."""
    try:
        return CHECK_DESCRIPTIONS[name]
    except KeyError:
        raise KeyError(
            f"check {name} has no description: add it to CHECK_DESCRIPTIONS in "
            "meetergo_pipeline/transform/checks.py"
        ) from None


def unique_id_check_description(table: str, column: str) -> str:
    """The description of the unique-id check of `table` (`schema.table`) on its key `column`
    (a composite key's columns joined by ", ")."""
    layer, name = table.split(".")
    return UNIQUE_ID_DESCRIPTION.format(table=table, column=column, layer=layer, name=name)


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check: ``passed`` False means the problem at ``severity`` was found."""

    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def check_unique_ids(
    con: duckdb.DuckDBPyConnection, table: str, column: str | Sequence[str]
) -> CheckOutcome:
    """No id in ``table.column`` appears twice (ERROR).

    ``column`` may name several columns (a composite key): then no combination of their
    values appears twice; the sample shows each as a tuple.
    """
    columns = [column] if isinstance(column, str) else list(column)
    if not columns:
        raise ValueError("check_unique_ids needs at least one key column")
    quoted = [_quoted(name) for name in columns]
    key = quoted[0] if len(quoted) == 1 else f"row({', '.join(quoted)})"
    sql = load_sql(
        "checks/unique_ids.sql",
        table=_qualified(table),
        key=key,
        key_not_null=" AND ".join(f"{name} IS NOT NULL" for name in quoted),
    )
    rows, duplicated_ids, sample = one_row(con, sql)
    passed = duplicated_ids == 0
    named = ", ".join(columns) if len(columns) == 1 else f"({', '.join(columns)})"
    return CheckOutcome(
        passed=passed,
        severity="ERROR",
        description=(
            f"{table}.{named} is unique"
            if passed
            else f"{duplicated_ids} {named} value(s) occur more than once in {table}"
        ),
        metadata={"rows": rows, "duplicated_ids": duplicated_ids, "sample": sample or []},
    )


def check_non_null_keys(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]
) -> CheckOutcome:
    """None of ``columns`` is NULL in any row of ``table`` (ERROR).

    ``null_counts`` in the metadata names the columns as the table spells them.
    """
    if not columns:
        raise ValueError("check_non_null_keys needs at least one column")
    sql = load_sql("checks/null_counts.sql", table=_qualified(table))
    nulls = dict(con.execute(sql, {"columns": list(columns)}).fetchall())
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
    unknown_meeting_types, unknown_hosts, sample = one_row(
        con, load_sql("checks/unknown_references.sql")
    )
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


def check_no_rejected_booking_events(
    con: duckdb.DuckDBPyConnection, sample_size: int = REJECTED_SAMPLE_SIZE
) -> CheckOutcome:
    """No booking webhook event is held in core.rejected_booking_events (WARN).

    A rejected event's appointment is left out of core.appointments while everything else
    publishes, so this only warns. The metadata counts the events by reason and names up to
    ``sample_size`` appointment ids per reason; no reason carries body content.
    """
    rows = con.execute(
        load_sql("checks/rejected_booking_events.sql"), {"sample_size": sample_size}
    ).fetchall()
    if not rows:
        return CheckOutcome(
            True, "WARN", "every booking webhook event formed or updated an appointment row"
        )
    events = sum(row[1] for row in rows)
    appointments = sum(row[2] for row in rows)
    by_reason = {reason: count for reason, count, _, _ in rows}
    sample = sorted({appointment_id for *_, ids in rows for appointment_id in ids})
    reasons = "; ".join(f"{reason}: {count}" for reason, count in by_reason.items())
    return CheckOutcome(
        passed=False,
        severity="WARN",
        description=(
            f"{events} booking webhook event(s) about {appointments} appointment(s) the API "
            f"has not listed cannot form an appointment row and are held in "
            f"core.rejected_booking_events ({reasons}); everything else is published. An "
            "appointment leaves it by itself once a sync reads it from the API. One that stays "
            "was never booked in this tenant or was sent incomplete: look its id up in "
            "meetergo, and fix or unregister whatever sends these webhooks."
        ),
        metadata={
            "rejected_events": events,
            "rejected_appointments": appointments,
            "events_by_reason": by_reason,
            "sample_appointment_ids": sample,
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
    totals = one_row(con, load_sql("checks/reconciliation_totals.sql"), {"since": since})
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


def check_row_counts_against_api(
    con: duckdb.DuckDBPyConnection, tenant_id: str = DEFAULT_TENANT
) -> CheckOutcome:
    """Live users equal the API's `total`, and live appointments did not halve since last run,
    for one tenant.

    A sudden halving means a broken read (wrong acting user, a filter), not a real tenant;
    it fails with ERROR so that nothing built on it gets published.
    """
    runs = con.execute(load_sql("checks/latest_sync_runs.sql"), {"tenant_id": tenant_id}).fetchall()
    if not runs:
        return CheckOutcome(True, "WARN", "no sync has run yet")
    api_users, users_live, appointments_live = runs[0]
    previous_appointments = runs[1][2] if len(runs) > 1 else None
    metadata = {
        "api_user_total": api_users,
        "users_live": users_live,
        "appointments_live": appointments_live,
        "previous_appointments_live": previous_appointments,
    }
    if previous_appointments and appointments_live < previous_appointments * MAX_DROP_SHARE:
        return CheckOutcome(
            False,
            "ERROR",
            f"live appointments fell from {previous_appointments} to {appointments_live}",
            metadata,
        )
    if api_users is not None and users_live != api_users:
        return CheckOutcome(
            False, "WARN", f"{users_live} live users but the API reports {api_users}", metadata
        )
    return CheckOutcome(True, "WARN", "row counts agree with the API", metadata)


def combined_outcome(outcomes: dict[str, CheckOutcome]) -> CheckOutcome:
    """One outcome of a check run per tenant: passed when every tenant's passed, else failed
    at the worst failing severity, naming each failing tenant and its finding."""
    failing = {tenant: outcome for tenant, outcome in outcomes.items() if not outcome.passed}
    if not failing:
        return CheckOutcome(True, "WARN", f"passed for all {len(outcomes)} tenants")
    severity: Severity = "ERROR" if any(o.severity == "ERROR" for o in failing.values()) else "WARN"
    description = "; ".join(f"tenant {t}: {o.description}" for t, o in sorted(failing.items()))
    return CheckOutcome(False, severity, description, {"failing_tenants": sorted(failing)})


def check_webhook_log_silence(
    log_dir: Path,
    warn_after_minutes: float,
    *,
    inbox_in_use: bool = False,
    inbox_newest: datetime | None = None,
) -> CheckOutcome:
    """WARN when no delivery has arrived for longer than the configured silence.

    The newest delivery is the latest change to a log file under ``log_dir`` or, with a
    PostgreSQL inbox (``inbox_in_use``), the inbox's newest receipt ``inbox_newest`` (None
    while it is empty), whichever is later.
    """
    logs = list(log_dir.glob("*.jsonl")) if log_dir.is_dir() else []
    newest = [p.stat().st_mtime for p in logs]
    if inbox_newest is not None:
        newest.append(inbox_newest.timestamp())
    if not newest:
        where = f"{log_dir} or the webhook inbox" if inbox_in_use else str(log_dir)
        return CheckOutcome(False, "WARN", f"no webhook log in {where} yet")
    silent_minutes = (time.time() - max(newest)) / 60
    passed = silent_minutes <= warn_after_minutes
    verdict = "within" if passed else "beyond"
    return CheckOutcome(
        passed,
        "WARN",
        f"last delivery {silent_minutes:.0f} min ago, {verdict} {warn_after_minutes:.0f} min",
        {"silent_minutes": round(silent_minutes, 1)},
    )


def _quoted(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return f'"{identifier}"'


def _qualified(table: str) -> str:
    """``schema.table`` (or ``table``) validated and quoted."""
    return ".".join(_quoted(part) for part in table.split("."))
