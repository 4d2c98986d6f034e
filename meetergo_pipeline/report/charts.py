"""The report's charts as Vega-Lite specifications (plain JSON-ready dicts).

Each chart's rows go in as inline data named ``table`` (the long frames of ``data.py``), so
the page can read back from the browser exactly what a chart drew (``view.data("table")``).
Dates are ``YYYY-MM-DD`` text read on a UTC scale, so no viewer's own time zone shifts a week
or a month.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from meetergo_pipeline.report.data import LEAD_TIME_BINS, WEEKDAYS, ReportData

VEGA_LITE_VERSION = "6.4"  # the version the specs are written for; the page inlines it
SCHEMA = f"https://vega.github.io/schema/vega-lite/v{VEGA_LITE_VERSION.split('.')[0]}.json"
WIDTH = 760

Spec = dict[str, Any]


def chart_specs(data: ReportData) -> dict[str, Spec]:
    """Every chart of the page by element id, in page order."""
    return {
        "chart-usage": usage_chart(data.usage),
        "chart-weekly-bookings": weekly_bookings_chart(data.weekly_bookings),
        "chart-weekly-changes": weekly_changes_chart(data.weekly_changes),
        "chart-lead-times": lead_time_chart(data.lead_times),
        "chart-busy-hours": busy_hours_chart(data.busy_hours),
        "chart-mismatches": mismatches_chart(data.weekly_mismatches),
    }


def weekly_bookings_chart(rows: pd.DataFrame) -> Spec:
    return _spec(
        rows,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": _week_axis(),
            "y": {"field": "bookings", "type": "quantitative", "title": "bookings made"},
            "color": {"field": "meeting_type", "type": "nominal", "title": "meeting type"},
        },
    )


def weekly_changes_chart(rows: pd.DataFrame) -> Spec:
    return _spec(
        rows,
        mark={"type": "line", "point": True, "tooltip": True},
        encoding={
            "x": _week_axis(),
            "y": {"field": "bookings", "type": "quantitative", "title": "bookings"},
            "color": {"field": "change", "type": "nominal", "title": None},
        },
    )


def lead_time_chart(rows: pd.DataFrame) -> Spec:
    return _spec(
        rows,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {
                "field": "lead_time",
                "type": "ordinal",
                "sort": [label for _bound, label in LEAD_TIME_BINS],
                "title": "booked ahead of the meeting",
                "axis": {"labelAngle": -30},
            },
            "y": {"field": "bookings", "type": "quantitative", "title": "bookings"},
        },
    )


def busy_hours_chart(rows: pd.DataFrame) -> Spec:
    return _spec(
        rows,
        mark={"type": "rect", "tooltip": True},
        encoding={
            "x": {"field": "hour", "type": "ordinal", "title": "hour (host's local time)"},
            "y": {
                "field": "weekday_name",
                "type": "ordinal",
                "sort": list(WEEKDAYS),
                "title": None,
            },
            "color": {
                "field": "meetings",
                "type": "quantitative",
                "title": "meetings",
                "scale": {"scheme": "blues"},
            },
        },
        height=220,
    )


def usage_chart(usage: pd.DataFrame) -> Spec:
    """Metered bookings per month, the running month's projection stacked on top, and the
    plan's included amount as a rule."""
    booked = pd.DataFrame(
        {
            "month": usage["billing_month"].dt.strftime("%Y-%m-%d"),
            "part": "booked",
            "bookings": usage["api_bookings"].astype(int),
        }
    )
    rest = (usage["projected_api_bookings"] - usage["api_bookings"]).clip(lower=0)
    projected = pd.DataFrame(
        {
            "month": booked["month"],
            "part": "projected to month end",
            "bookings": rest.fillna(0).astype(int),
        }
    )[usage["projected_api_bookings"].notna().to_numpy()]
    rows = pd.concat([booked, projected], ignore_index=True)
    month = {
        "field": "month",
        "type": "ordinal",
        "timeUnit": "utcyearmonth",
        "title": "billing month",
    }
    plan = int(usage["plan_included_bookings"].max()) if not usage.empty else 0
    return _spec(
        rows,
        layer=[
            {
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "x": month,
                    "y": {
                        "field": "bookings",
                        "type": "quantitative",
                        "stack": True,
                        "title": "metered bookings",
                    },
                    "color": {
                        "field": "part",
                        "type": "nominal",
                        "title": None,
                        "scale": {"range": ["#4c78a8", "#b8cde3"]},
                    },
                },
            },
            {
                "data": {"values": [{"included": plan}]},
                "mark": {"type": "rule", "color": "#c0392b", "strokeDash": [6, 4]},
                "encoding": {
                    "y": {"field": "included", "type": "quantitative"},
                    "tooltip": {"field": "included", "title": "included in the plan"},
                },
            },
        ],
    )


def mismatches_chart(rows: pd.DataFrame) -> Spec:
    return _spec(
        rows,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": _week_axis(),
            "y": {"field": "mismatches", "type": "quantitative", "title": "mismatches"},
            "color": {"field": "kind", "type": "nominal", "title": None},
        },
        height=180,
    )


def _week_axis() -> dict[str, Any]:
    return {
        "field": "week",
        "type": "ordinal",
        "timeUnit": "utcyearmonthdate",
        "title": "week starting (Monday)",
        "axis": {"format": "%d %b %y", "labelAngle": -45, "labelOverlap": "greedy"},
    }


def _spec(rows: pd.DataFrame, *, height: int = 260, **view: Any) -> Spec:
    """A chart of `rows` (inline data named "table") drawn as `view` (mark and encoding, or
    layer)."""
    return {
        "$schema": SCHEMA,
        "width": WIDTH,
        "height": height,
        "data": {"name": "table", "values": json.loads(rows.to_json(orient="records"))},
        "config": {
            "font": "system-ui, sans-serif",
            "view": {"stroke": None},
            "legend": {"labelLimit": 240},
        },
        **view,
    }
