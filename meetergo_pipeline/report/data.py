"""What the report shows, read from the published snapshot and shaped with pandas.

Every query is a file under ``meetergo_pipeline/sql/report/`` and this is the one module that
runs them, so pointing the report at other marts means editing those files alone. DuckDB
counts; pandas shapes: days summed into Monday-based weeks (``resample``), lead times cut
into bins, meeting starts cross-tabulated into a weekday x hour grid. Every frame covers its
whole range (each week of the window, each bin, all 7 x 24 cells), zeros included, so a
chart never hides an empty week or hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd  # type: ignore[import-untyped]

from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.transform.checks import CheckOutcome, check_reconciliation

REPORT_WEEKS = 52  # full weeks the weekly charts, lead times and the busy-hours grid cover
USAGE_MONTHS = 12  # billing months in the usage chart, the running one included
TOP_MEETING_TYPES = 8  # meeting types named in the weekly chart; the rest are summed
OTHER_MEETING_TYPES = "other meeting types"
WEEK = "W-MON"  # pandas' weekly bins [Monday, next Monday), labelled with the Monday
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Lead-time bins: (lower bound in hours, label); each bin runs up to the next bound.
LEAD_TIME_BINS: tuple[tuple[float, str], ...] = (
    (-math.inf, "starts before booked"),
    (0, "under 1 hour"),
    (1, "1-4 hours"),
    (4, "4-24 hours"),
    (24, "1-3 days"),
    (72, "3-7 days"),
    (168, "1-2 weeks"),
    (336, "2-4 weeks"),
    (672, "4-8 weeks"),
    (1344, "8 weeks or more"),
)

MISMATCH_KINDS = {
    "events_without_api_appointment": "event, no appointment from the API",
    "creations_without_event": "booking without created event",
    "cancellations_without_event": "cancellation without event",
    "reschedules_without_event": "reschedule without event",
    "state_disagreements": "event contradicted by the API",
}

REQUIRED_TABLES = (
    "analytics.booking_volume_daily",
    "analytics.report_settings",
    "analytics.usage_billing_monthly",
    "analytics.webhook_reconciliation",
    "core.appointments",
    "core.meeting_types",
    "core.users",
)


@dataclass(frozen=True)
class ReportData:
    """The report's figures and chart tables (long format: one row per mark)."""

    overview: dict[str, Any]
    weekly_bookings: pd.DataFrame  # week, meeting_type, bookings
    weekly_changes: pd.DataFrame  # week, change (cancelled | rescheduled), bookings
    lead_times: pd.DataFrame  # lead_time (bin label, in order), bookings
    median_lead_time_hours: float | None
    busy_hours: pd.DataFrame  # weekday (1 = Monday), weekday_name, hour, meetings
    meetings_in_reporting_zone: int  # meetings whose host has no known time zone
    usage: pd.DataFrame  # the last USAGE_MONTHS billing months, see usage_by_month.sql
    running_month: dict[str, Any] | None
    weekly_mismatches: pd.DataFrame  # week, kind, mismatches
    reconciliation: CheckOutcome  # the reconciliation check over every day


def read_report_data(
    con: duckdb.DuckDBPyConnection, *, reconciliation_warn_threshold: int
) -> ReportData:
    """Everything the report shows, read through `con` (the snapshot, read-only).

    Raises ValueError naming the tables missing from the snapshot.
    """
    (missing,) = con.execute(  # type: ignore[misc]
        load_sql("tables/missing_tables.sql"), {"tables": list(REQUIRED_TABLES)}
    ).fetchone()
    if missing:
        raise ValueError(
            f"the snapshot lacks {', '.join(missing)}: publish a new one with "
            "`meetergo-pipeline sync` before writing the report"
        )
    overview = _query(con, "overview", weeks=REPORT_WEEKS).iloc[0].to_dict()
    since: date = overview["first_week"].date()
    weeks = pd.date_range(overview["first_week"], overview["last_week"], freq=WEEK)
    daily = _query(con, "daily_activity", since=since)
    lead_hours = _query(con, "lead_times", since=since)["lead_time_hours"]
    starts = _query(con, "meeting_starts", since=since)
    usage = _query(con, "usage_by_month", months=USAGE_MONTHS)
    running = usage[usage["is_running_month"]]
    return ReportData(
        overview=overview,
        weekly_bookings=weekly_bookings_by_type(daily, weeks),
        weekly_changes=_weekly_long(
            daily, weeks, ["cancelled", "rescheduled"], name="change", value="bookings"
        ),
        lead_times=lead_time_distribution(lead_hours),
        median_lead_time_hours=None if lead_hours.empty else float(lead_hours.median()),
        busy_hours=busy_hours(starts),
        meetings_in_reporting_zone=int((~starts["in_host_zone"]).sum()),
        usage=usage,
        running_month=None if running.empty else running.iloc[0].to_dict(),
        weekly_mismatches=_weekly_long(
            _query(con, "reconciliation_daily", since=since),
            weeks,
            list(MISMATCH_KINDS),
            name="kind",
            value="mismatches",
        ).replace({"kind": MISMATCH_KINDS}),
        reconciliation=check_reconciliation(con, reconciliation_warn_threshold),
    )


def weekly_bookings_by_type(daily: pd.DataFrame, weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """Bookings made per week and meeting type; beyond the TOP_MEETING_TYPES busiest types
    the rest are summed under OTHER_MEETING_TYPES."""
    per_type = daily.pivot_table(
        index="day", columns="meeting_type", values="created", aggfunc="sum", fill_value=0
    )
    per_type = _weekly(per_type, weeks)
    ranked = per_type.sum().sort_values(ascending=False, kind="stable").index
    if len(ranked) > TOP_MEETING_TYPES:
        rest = ranked[TOP_MEETING_TYPES:]
        per_type[OTHER_MEETING_TYPES] = per_type[rest].sum(axis=1)
        per_type = per_type.drop(columns=rest)
    return _long(per_type, "meeting_type", "bookings")


def lead_time_distribution(lead_hours: pd.Series) -> pd.DataFrame:
    """Bookings per LEAD_TIME_BINS bin, every bin listed in order."""
    bounds = [bound for bound, _label in LEAD_TIME_BINS] + [math.inf]
    labels = [label for _bound, label in LEAD_TIME_BINS]
    bins = pd.cut(lead_hours, bins=bounds, labels=labels, right=False)
    counts = bins.value_counts(sort=False).reindex(labels, fill_value=0)
    return pd.DataFrame({"lead_time": labels, "bookings": counts.astype(int).to_numpy()})


def busy_hours(starts: pd.DataFrame) -> pd.DataFrame:
    """Meetings per weekday and hour, all 7 x 24 cells."""
    grid = pd.crosstab(starts["start_weekday"], starts["start_hour"]).reindex(
        index=range(1, 8), columns=range(24), fill_value=0
    )
    cells = grid.rename_axis(index="weekday", columns="hour").stack().rename("meetings")
    frame = cells.astype(int).reset_index()
    frame.insert(1, "weekday_name", [WEEKDAYS[day - 1] for day in frame["weekday"]])
    return frame


def _weekly_long(
    daily: pd.DataFrame, weeks: pd.DatetimeIndex, columns: list[str], *, name: str, value: str
) -> pd.DataFrame:
    """`columns` of `daily` summed per week: rows (week, `name` = the column, `value`)."""
    summed = daily.groupby("day")[columns].sum()
    return _long(_weekly(summed, weeks), name, value)


def _weekly(by_day: pd.DataFrame, weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """Rows per day summed into the weeks of `weeks` (missing weeks as zeros)."""
    by_day = by_day.set_axis(pd.DatetimeIndex(by_day.index))
    summed = by_day.resample(WEEK, label="left", closed="left").sum()
    return summed.reindex(weeks, fill_value=0).astype(int)


def _long(wide: pd.DataFrame, name: str, value: str) -> pd.DataFrame:
    """A week x `name` table as rows (week as YYYY-MM-DD, `name`, `value`)."""
    wide = wide.rename_axis(index="week", columns=name)
    frame = wide.stack().rename(value).reset_index()
    frame["week"] = frame["week"].dt.strftime("%Y-%m-%d")
    return frame


def _query(con: duckdb.DuckDBPyConnection, name: str, **parameters: object) -> pd.DataFrame:
    return con.execute(load_sql(f"report/{name}.sql"), parameters).df()
