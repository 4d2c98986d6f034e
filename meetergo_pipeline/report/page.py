"""The report as one self-contained HTML page: figures, chart specs and the charting code.

Nothing on the page is fetched: the Vega, Vega-Lite and vega-embed code is inlined from
``vl-convert-python``'s bundle, each chart's data sits in its specification, and the page's
Content-Security-Policy (``default-src 'none'``) forbids every request besides. Vega compiles
its expressions with ``Function``, hence ``'unsafe-eval'``. Each key figure is an element with
``data-figure`` (its name) and ``data-value`` (the value unformatted), so a test, or anyone,
can read exactly what the page states. Text from the snapshot is HTML-escaped, and the chart
JSON cannot close its ``<script>`` element.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from functools import cache
from html import escape
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import vl_convert

from meetergo_pipeline.report.charts import VEGA_LITE_VERSION, Spec, chart_specs
from meetergo_pipeline.report.data import MISMATCH_KINDS, REPORT_WEEKS, ReportData

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'"
)
ALERT_STATUS_TEXT = {
    "ok": "ok: within the plan",
    "warn": "warning: near or projected to reach the plan",
    "over_plan": "over the plan",
}
ALERT_STATUS_CLASS = {"ok": "status-ok", "warn": "status-warn", "over_plan": "status-error"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 860px; padding: 1.5rem;
       color: #1d2733; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dbe3; padding-bottom: 0.3rem; }
.note, footer { color: #5b6776; font-size: 0.9rem; }
.figures { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.figure { border: 1px solid #d5dbe3; border-radius: 6px; padding: 0.5rem 0.8rem; min-width: 9rem; }
.figure .label { display: block; color: #5b6776; font-size: 0.8rem; }
.figure .value { font-size: 1.3rem; font-weight: 600; }
.status-ok { color: #1e7b34; } .status-warn { color: #a15c00; } .status-error { color: #b0281a; }
"""

# Draws every chart of the page; `window.reportRendered` resolves to how many were drawn and
# `window.reportCharts` holds each chart's Vega view (its data: `.data("table")`).
RENDER_SCRIPT = """
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
window.reportCharts = {};
window.reportRendered = Promise.all(
  Object.entries(specs).map(([id, spec]) =>
    vegaEmbed("#" + id, spec, { renderer: "svg", actions: false }).then((result) => {
      window.reportCharts[id] = result.view;
    })
  )
).then(() => Object.keys(window.reportCharts).length);
"""


def render_page(data: ReportData, *, snapshot_name: str) -> str:
    """The whole page as HTML text."""
    overview = data.overview
    sections = "\n".join(
        [
            _usage_section(data),
            _section(
                "Bookings per week by meeting type",
                "chart-weekly-bookings",
                "Bookings made each week (by when they were booked), the busiest meeting "
                "types by name.",
            ),
            _section(
                "Cancellations and reschedules per week",
                "chart-weekly-changes",
                "Counted in the week the cancellation or the latest reschedule happened.",
            ),
            _lead_time_section(data),
            _busy_hours_section(data),
            _reconciliation_section(data),
        ]
    )
    first_week = overview["first_week"].strftime("%Y-%m-%d")
    intro = (
        f"Marts built {overview['as_of_local']} ({overview['reporting_timezone']}), read from "
        f"the published snapshot {snapshot_name}. Weekly figures cover the {REPORT_WEEKS} "
        f"weeks from {first_week}; weeks start on Monday in the reporting time zone."
    )
    totals = _figures(
        _figure("overview.appointments", "appointments", overview["appointments"]),
        _figure("overview.confirmed", "confirmed", overview["confirmed"]),
        _figure("overview.cancelled", "cancelled", overview["cancelled"]),
        _figure("overview.rescheduled", "rescheduled at least once", overview["rescheduled"]),
    )
    libraries = (
        f"Charts: Vega-Lite {VEGA_LITE_VERSION} with Vega {vl_convert.get_vega_version()} and "
        f"vega-embed {vl_convert.get_vega_embed_version()}, inlined; the page loads nothing "
        "from the network."
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meetergo bookings report</title>
<style>{STYLE}</style>
</head>
<body>
<h1>meetergo bookings report</h1>
<p class="note">{escape(intro)}</p>
{totals}
{sections}
<footer><p>{escape(libraries)}</p></footer>
<script type="application/json" id="chart-specs">{script_json(chart_specs(data))}</script>
<script>{chart_code()}</script>
</body>
</html>
"""


def _usage_section(data: ReportData) -> str:
    running = data.running_month
    title = "This month against the plan"
    if running is None:
        figures = '<p class="note">The snapshot has no row for the running month.</p>'
    else:
        title += " (" + running["billing_month"].strftime("%B %Y") + ")"
        status = running["alert_status"]
        figures = _figures(
            _figure("usage.api_bookings", "metered bookings so far", running["api_bookings"]),
            _figure(
                "usage.plan_included_bookings",
                "included in the plan",
                running["plan_included_bookings"],
            ),
            _figure("usage.share_of_plan", "share of the plan", running["share_of_plan"], _percent),
            _figure(
                "usage.projected_api_bookings",
                "projected by month end",
                running["projected_api_bookings"],
            ),
            _figure(
                "usage.projected_share_of_plan",
                "projected share of the plan",
                running["projected_share_of_plan"],
                _percent,
            ),
            _figure(
                "usage.projected_estimated_cost",
                f"projected overage cost ({running['currency']})",
                running["projected_estimated_cost"],
                _money,
            ),
            _figure(
                "usage.alert_status",
                "alert status",
                status,
                lambda value: ALERT_STATUS_TEXT.get(value, value),
                missing="not in this snapshot",
                css=ALERT_STATUS_CLASS.get(status, ""),
            ),
        )
    return _section(
        title,
        "chart-usage",
        "Metered bookings per billing month; the running month's projection (its trailing "
        "daily rate times the days left) is stacked on top, the dashed line is the plan's "
        "included amount.",
        figures,
    )


def _lead_time_section(data: ReportData) -> str:
    figures = _figures(
        _figure(
            "lead_time.median_hours", "median lead time", data.median_lead_time_hours, _duration
        ),
        _figure("lead_time.bookings", "bookings", int(data.lead_times["bookings"].sum())),
    )
    return _section(
        "How far ahead meetings are booked",
        "chart-lead-times",
        "Time from booking to the meeting's start (after any reschedule), for the bookings "
        "made in the report's weeks, cancelled ones included.",
        figures,
    )


def _busy_hours_section(data: ReportData) -> str:
    note = (
        "Confirmed meetings from the report's first week on, those scheduled ahead included, "
        "by weekday and hour in each host's own time zone."
    )
    if data.meetings_in_reporting_zone:
        note += (
            f" {data.meetings_in_reporting_zone} meeting(s) of hosts without a known time zone "
            f"are placed in the reporting time zone ({data.overview['reporting_timezone']})."
        )
    figures = _figures(
        _figure("busy_hours.meetings", "meetings", int(data.busy_hours["meetings"].sum()))
    )
    return _section("Busy weekdays and hours", "chart-busy-hours", note, figures)


def _reconciliation_section(data: ReportData) -> str:
    outcome = data.reconciliation
    counts = outcome.metadata
    figures = _figures(
        _figure(
            "reconciliation.status",
            "status",
            "within threshold" if outcome.passed else "above threshold",
            str,
            css="status-ok" if outcome.passed else "status-warn",
        ),
        _figure(
            "reconciliation.total_mismatches", "mismatches, all days", counts["total_mismatches"]
        ),
        _figure("reconciliation.threshold", "warning threshold", counts["threshold"]),
        *(
            _figure(f"reconciliation.{column}", label, counts[column])
            for column, label in MISMATCH_KINDS.items()
        ),
    )
    return _section(
        "Webhooks against the API",
        "chart-mismatches",
        f"{outcome.description}. Where webhook events and API reads disagree, per week of "
        "each item's own time. A booking made since the last API sync counts until the next "
        "one; lasting counts point at missed webhooks or a stale sync.",
        figures,
    )


def _section(title: str, chart_id: str, note: str, figures: str = "") -> str:
    """A titled section: figures (HTML), an explanatory note and the chart's element."""
    return (
        f"<section>\n<h2>{escape(title)}</h2>\n{figures}\n"
        f'<p class="note">{escape(note)}</p>\n<div class="chart" id="{chart_id}"></div>\n'
        "</section>"
    )


def _figures(*figures: str) -> str:
    return '<div class="figures">\n' + "\n".join(figures) + "\n</div>"


def _figure(
    name: str,
    label: str,
    value: Any,
    formatter: Callable[[Any], str] | None = None,
    *,
    missing: str = "n/a",
    css: str = "",
) -> str:
    """One key figure: `data-value` holds `value` unformatted ("" for none), the text shows
    it through `formatter` (a whole number by default) or `missing`."""
    absent = value is None or bool(pd.isna(value))
    raw = "" if absent else str(value)
    shown = missing if absent else (formatter or _count)(value)
    return (
        f'<div class="figure"><span class="label">{escape(label)}</span>'
        f'<span class="value {css}" data-figure="{escape(name)}" data-value="{escape(raw)}">'
        f"{escape(shown)}</span></div>"
    )


def _count(value: Any) -> str:
    return f"{int(value):,}"


def _percent(share: Any) -> str:
    return f"{float(share):.1%}"


def _money(amount: Any) -> str:
    return f"{float(amount):,.2f}"


def _duration(hours: Any) -> str:
    hours = float(hours)
    return f"{hours:.1f} hours" if abs(hours) < 48 else f"{hours / 24:.1f} days"


def script_json(specs: dict[str, Spec]) -> str:
    """`specs` as JSON safe inside a <script> element: no `<`, `>` or `&` left literal."""
    text = json.dumps(specs, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def chart_code() -> str:
    """RENDER_SCRIPT bundled with the Vega, Vega-Lite and vega-embed code it calls.

    Bundling takes vl-convert's JavaScript engine over a second and much memory, and gives
    the same text for the same script and versions, so the bundle is kept in the user's
    cache folder (`$XDG_CACHE_HOME`, else `~/.cache`) under a name those determine.
    """
    recipe = f"{version('vl-convert-python')}|{VEGA_LITE_VERSION}|{RENDER_SCRIPT}".encode()
    cached = _cache_folder() / f"vega-bundle-{hashlib.sha256(recipe).hexdigest()[:16]}.js"
    try:
        bundle = cached.read_text(encoding="utf-8")
    except OSError:
        bundle = vl_convert.javascript_bundle(RENDER_SCRIPT, vl_version=VEGA_LITE_VERSION)
        _write_quietly(cached, bundle)
    if "</script" in bundle.lower():
        raise RuntimeError("the Vega bundle contains '</script' and cannot be inlined")
    return bundle


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meetergo-pipeline"


def _write_quietly(path: Path, text: str) -> None:
    """Write `text` to `path` atomically; a cache that cannot be written is skipped."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, path)
