"""The HTML report: written by the sync job, its figures equal to the snapshot, offline.

The snapshot comes from the real sync job run twice against the simulator, with webhook
deliveries in the receiver's log between the runs (one cancellation left without its
webhook), a meeting type whose name is markup and a host whose time zone DuckDB does not
know. Expected figures are computed here independently of the report's own SQL: from
core.appointments, zoneinfo and the working file's full billing mart.
"""

from __future__ import annotations

import bisect
import json
import shutil
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pytest
from dagster import AssetKey, ExecuteInProcessResult, MetadataValue
from playwright.sync_api import sync_playwright

from meetergo_pipeline.cli import main
from meetergo_pipeline.report import report_path_for, write_report
from meetergo_pipeline.report.data import LEAD_TIME_BINS, OTHER_MEETING_TYPES, TOP_MEETING_TYPES
from meetergo_pipeline.report.renderer import ReportRenderer, ReportRendererError
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer, is_cancelled
from meetergo_pipeline.simulator.events import TenantEvent
from meetergo_pipeline.webhooks.log import delivery_line
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync, use_pipeline_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_NAME = '</script><img src="x" onerror="window.pwned = 1">Demo & Co'
UNKNOWN_ZONE = "Mars/Olympus_Mons"
CHART_IDS = (
    "chart-usage",
    "chart-weekly-bookings",
    "chart-weekly-changes",
    "chart-lead-times",
    "chart-busy-hours",
    "chart-mismatches",
)


@dataclass
class Synced:
    env: PipelineEnv
    result: ExecuteInProcessResult

    @property
    def report(self) -> Path:
        return report_path_for(self.env.snapshot_path)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    config = SimulatorConfig(seed=31, users=5, appointments=700, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        env = use_pipeline_env(PipelineEnv(sim, tmp_path_factory.mktemp("report")), monkeypatch)
        tenant = sim.tenant
        booked = Counter(body["meetingTypeId"] for body in tenant.appointments.values())
        busiest_type = tenant.meeting_types_by_id[booked.most_common(1)[0][0]]
        busiest_type["meetingInfo"]["name"] = HOSTILE_NAME
        host = next(u for u in tenant.users_by_id.values() if not u["isAdmin"])
        host["timezone"] = UNKNOWN_ZONE
        assert run_sync("full").success

        events: list[TenantEvent] = []
        tenant.add_listener(events.append)
        confirmed = [i for i, body in tenant.appointments.items() if not is_cancelled(body)]
        later = (tenant.now() // 3600 + 400 * 24) * 3600
        tenant.create_booking(busiest_type["id"], later)
        tenant.cancel_appointment(confirmed[0])
        tenant.reschedule_appointment(confirmed[1], later + 7200)
        tenant.remove_listener(events.append)
        tenant.cancel_appointment(confirmed[2])  # its webhook never arrives
        log = env.webhook_dir / f"events-{datetime.now(UTC):%Y-%m-%d}.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_bytes(  # each delivered the moment it happened
            b"".join(
                delivery_line(
                    datetime.fromtimestamp(e.occurred_at, UTC), json.dumps(e.payload).encode()
                )
                for e in events
            )
        )
        result = run_sync("full")
        assert result.success
        yield Synced(env, result)


# ---- what the page states, read without a browser -------------------------------------------


class _PageReader(HTMLParser):
    """Collects `data-figure` -> `data-value` and the chart specs' JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.specs_text = ""
        self._in_specs = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-figure" in attributes:
            self.figures[attributes["data-figure"] or ""] = attributes.get("data-value") or ""
        self._in_specs = tag == "script" and attributes.get("id") == "chart-specs"

    def handle_data(self, data: str) -> None:
        if self._in_specs:
            self.specs_text += data

    def handle_endtag(self, tag: str) -> None:
        self._in_specs = False


def read_page(path: Path) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """(figures, chart rows by chart id) as the page file holds them."""
    reader = _PageReader()
    reader.feed(path.read_text(encoding="utf-8"))
    specs = json.loads(reader.specs_text)
    return reader.figures, {chart: spec["data"]["values"] for chart, spec in specs.items()}


# ---- what the page must state, computed independently ------------------------------------------


def query(path: Path, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, parameters or {}).fetchall()
    finally:
        con.close()


def report_window(snapshot: Path) -> tuple[str, date]:
    """(reporting time zone, the Monday of the report's first week)."""
    ((as_of, zone),) = query(
        snapshot, "SELECT as_of, reporting_timezone FROM analytics.report_settings"
    )
    today = as_of.astimezone(ZoneInfo(zone)).date()
    return zone, today - timedelta(days=today.weekday(), weeks=51)


def weekly_counts(snapshot: Path, timestamp: str, label: str, where: str) -> Counter:
    """Appointments per (Monday of `timestamp`'s week, `label`) from the first week on."""
    zone, first_week = report_window(snapshot)
    rows = query(
        snapshot,
        f"""
        SELECT strftime(date_trunc('week', CAST(timezone($zone, {timestamp}) AS DATE)),
                        '%Y-%m-%d'), {label}, count(*)
        FROM core.appointments AS a
        LEFT JOIN core.meeting_types AS m ON m.meeting_type_id = a.meeting_type_id
        WHERE {where} AND CAST(timezone($zone, {timestamp}) AS DATE) >= $first_week
        GROUP BY ALL
        """,
        {"zone": zone, "first_week": first_week},
    )
    return Counter({(week, name): count for week, name, count in rows})


def expected_figures(env: PipelineEnv) -> dict[str, Any]:
    snapshot = env.snapshot_path
    live = "FROM core.appointments WHERE deleted_at IS NULL"
    ((appointments, confirmed, cancelled, rescheduled),) = query(
        snapshot,
        f"SELECT count(*), count(*) FILTER (status = 'confirmed'), "
        f"count(*) FILTER (status = 'cancelled'), count(*) FILTER (reschedule_count > 0) {live}",
    )
    usage_columns = (
        "api_bookings",
        "plan_included_bookings",
        "share_of_plan",
        "projected_api_bookings",
        "projected_share_of_plan",
        "projected_estimated_cost",
    )
    # The working file holds the full mart, graded columns included.
    (usage,) = query(
        env.duckdb_path,
        f"SELECT {', '.join(f'u.{c}' for c in usage_columns)} "
        "FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON s.running_month = u.billing_month",
    )
    published_status = query(
        snapshot,
        "SELECT count(*) FROM duckdb_columns() "
        "WHERE table_name = 'usage_billing_monthly' AND column_name = 'alert_status'",
    ) == [(1,)]
    (status,) = query(
        snapshot if published_status else env.duckdb_path,
        "SELECT alert_status FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON s.running_month = u.billing_month",
    )[0]
    kinds = (
        "events_without_api_appointment",
        "creations_without_event",
        "cancellations_without_event",
        "reschedules_without_event",
        "state_disagreements",
        "total_mismatches",
    )
    (mismatches,) = query(
        snapshot,
        f"SELECT {', '.join(f'coalesce(sum({k}), 0)' for k in kinds)} "
        "FROM analytics.webhook_reconciliation",
    )
    lead_hours = expected_lead_hours(snapshot)
    return {
        "overview.appointments": appointments,
        "overview.confirmed": confirmed,
        "overview.cancelled": cancelled,
        "overview.rescheduled": rescheduled,
        **{f"usage.{column}": value for column, value in zip(usage_columns, usage, strict=True)},
        "usage.alert_status": status if published_status else None,
        **{f"reconciliation.{k}": int(v) for k, v in zip(kinds, mismatches, strict=True)},
        "reconciliation.threshold": 10,
        "reconciliation.status": "within threshold" if mismatches[-1] <= 10 else "above threshold",
        "lead_time.bookings": len(lead_hours),
        "lead_time.median_hours": statistics.median(lead_hours),
        "busy_hours.meetings": sum(expected_busy_hours(snapshot)[0].values()),
    }


def expected_lead_hours(snapshot: Path) -> list[float]:
    zone, first_week = report_window(snapshot)
    rows = query(
        snapshot,
        "SELECT created_at, start_at FROM core.appointments WHERE deleted_at IS NULL "
        "AND created_at IS NOT NULL AND start_at IS NOT NULL",
    )
    return [
        (start - created).total_seconds() / 3600
        for created, start in rows
        if created.astimezone(ZoneInfo(zone)).date() >= first_week
    ]


def expected_busy_hours(snapshot: Path) -> tuple[Counter, int]:
    """Confirmed live meetings per (ISO weekday, hour) in the host's zone, read with zoneinfo,
    and how many of them were placed in the reporting zone (host zone unset or unknown)."""
    zone, first_week = report_window(snapshot)
    rows = query(
        snapshot,
        "SELECT a.start_at, u.timezone FROM core.appointments AS a "
        "LEFT JOIN core.users AS u ON u.user_id = a.host_user_id "
        "WHERE a.status = 'confirmed' AND a.deleted_at IS NULL AND a.start_at IS NOT NULL",
    )
    cells: Counter = Counter()
    in_reporting_zone = 0
    for start, host_zone in rows:
        if start.astimezone(ZoneInfo(zone)).date() < first_week:
            continue
        try:
            local = start.astimezone(ZoneInfo(host_zone))
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            local = start.astimezone(ZoneInfo(zone))
            in_reporting_zone += 1
        cells[(local.isoweekday(), local.hour)] += 1
    return cells, in_reporting_zone


def assert_figures(figures: dict[str, str], expected: dict[str, Any]) -> None:
    assert set(expected) <= set(figures)
    for name, value in expected.items():
        shown = figures[name]
        if value is None:
            assert shown == "", name
        elif isinstance(value, str):
            assert shown == value, name
        else:
            assert float(shown) == pytest.approx(float(value), rel=1e-9), name


def assert_charts(charts: dict[str, list[dict[str, Any]]], snapshot: Path) -> None:
    """Every chart's rows equal what core.appointments and the marts say."""
    assert list(charts) == list(CHART_IDS)

    by_type = weekly_counts(
        snapshot,
        "a.created_at",
        "coalesce(m.name, 'unknown meeting type')",
        "a.created_at IS NOT NULL",
    )
    shown = Counter(
        {(r["week"], r["meeting_type"]): r["bookings"] for r in charts["chart-weekly-bookings"]}
    )
    names = {name for _week, name in shown}
    totals = Counter()
    for (_week, name), count in by_type.items():
        totals[name] += count
    top = {name for name, _count in totals.most_common(TOP_MEETING_TYPES)}
    assert names - {OTHER_MEETING_TYPES} == top
    folded = Counter()
    for (week, name), count in by_type.items():
        folded[(week, name if name in top else OTHER_MEETING_TYPES)] += count
    assert +shown == folded
    assert len({week for week, _name in shown}) == 52

    changes = weekly_counts(
        snapshot,
        "a.cancelled_at",
        "'cancelled'",
        "a.status = 'cancelled' AND a.cancelled_at IS NOT NULL",
    ) + weekly_counts(snapshot, "a.rescheduled_at", "'rescheduled'", "a.rescheduled_at IS NOT NULL")
    shown = Counter(
        {(r["week"], r["change"]): r["bookings"] for r in charts["chart-weekly-changes"]}
    )
    assert +shown == changes

    bounds = [bound for bound, _label in LEAD_TIME_BINS]
    bins = Counter(
        LEAD_TIME_BINS[bisect.bisect_right(bounds, h) - 1][1] for h in expected_lead_hours(snapshot)
    )
    assert [r["lead_time"] for r in charts["chart-lead-times"]] == [
        label for _bound, label in LEAD_TIME_BINS
    ]
    assert +Counter({r["lead_time"]: r["bookings"] for r in charts["chart-lead-times"]}) == bins

    cells = Counter({(r["weekday"], r["hour"]): r["meetings"] for r in charts["chart-busy-hours"]})
    assert len(cells) == 7 * 24
    assert +cells == expected_busy_hours(snapshot)[0]

    months = query(
        snapshot,
        "SELECT strftime(billing_month, '%Y-%m-%d'), api_bookings, projected_api_bookings "
        "FROM analytics.usage_billing_monthly AS u, analytics.report_settings AS s "
        "WHERE billing_month > s.running_month - INTERVAL 12 MONTH ORDER BY billing_month",
    )
    usage = {(r["month"], r["part"]): r["bookings"] for r in charts["chart-usage"]}
    assert {month for month, _part in usage} == {month for month, _b, _p in months}
    for month, booked, projected in months:
        assert usage[(month, "booked")] == booked
        if projected is not None:
            assert usage[(month, "projected to month end")] == projected - booked

    (total,) = query(
        snapshot, "SELECT coalesce(sum(total_mismatches), 0) FROM analytics.webhook_reconciliation"
    )[0]
    assert sum(r["mismatches"] for r in charts["chart-mismatches"]) == total


# ---- tests ----------------------------------------------------------------------------------


def test_sync_writes_the_report_beside_the_snapshot(synced: Synced) -> None:
    snapshot = synced.env.snapshot_path
    assert synced.report == snapshot.parent / "meetergo_report.html"
    assert synced.report.stat().st_mode & 0o777 == snapshot.stat().st_mode & 0o777 == 0o600
    (materialization,) = [
        event.materialization
        for event in synced.result.get_asset_materialization_events()
        if event.asset_key == AssetKey(["analytics", "published_snapshot"])
    ]
    assert materialization.metadata["report"] == MetadataValue.path(str(synced.report))
    assert materialization.metadata["report_url"] == MetadataValue.url(synced.report.as_uri())


def test_the_sync_fixture_covers_what_the_report_must_handle(synced: Synced) -> None:
    """The reconciliation has findings, a host's zone is unknown, a name is markup."""
    snapshot = synced.env.snapshot_path
    assert query(
        snapshot,
        "SELECT sum(booking_events), sum(cancellations_without_event) "
        "FROM analytics.webhook_reconciliation",
    ) == [(3, 1)]
    _cells, in_reporting_zone = expected_busy_hours(snapshot)
    assert in_reporting_zone > 0
    page = synced.report.read_text(encoding="utf-8")
    assert f"{in_reporting_zone} meeting(s) of hosts without a known time zone" in page
    assert query(
        snapshot, "SELECT count(*) FROM core.meeting_types WHERE name = $n", {"n": HOSTILE_NAME}
    ) == [(1,)]


def test_report_figures_and_chart_rows_equal_the_snapshot(synced: Synced) -> None:
    figures, charts = read_page(synced.report)
    assert_figures(figures, expected_figures(synced.env))
    assert_charts(charts, synced.env.snapshot_path)


def test_report_holds_no_personal_data(synced: Synced) -> None:
    """No attendee's e-mail, name or phone, no booking secret reaches the page."""
    page = synced.report.read_text(encoding="utf-8")
    rows = query(
        synced.env.duckdb_path,
        "SELECT DISTINCT unnest(["
        "  json_extract_string(a.value, '$.email'), json_extract_string(a.value, '$.fullname'),"
        "  json_extract_string(a.value, '$.phone')]) AS text "
        "FROM raw.appointments AS r, json_each(r.payload, '$.attendees') AS a "
        "UNION SELECT payload->>'secret' FROM raw.appointments",
    )
    personal = {text for (text,) in rows if text}
    assert len(personal) > 500
    assert not {text for text in personal if text in page}


def test_markup_in_a_name_stays_text(synced: Synced) -> None:
    page = synced.report.read_text(encoding="utf-8")
    assert HOSTILE_NAME not in page
    assert 'onerror="window.pwned' not in page
    assert page.count("</script>") == 2  # the chart specs, the charting code
    _figures, charts = read_page(synced.report)
    names = {row["meeting_type"] for row in charts["chart-weekly-bookings"]}
    assert HOSTILE_NAME in names


def test_alert_status_and_shares_come_from_the_published_mart(synced: Synced) -> None:
    """The page shows the running month's graded figures as the snapshot publishes them."""
    ((status, share, projected_share),) = query(
        synced.env.snapshot_path,
        "SELECT alert_status, share_of_plan, projected_share_of_plan "
        "FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON s.running_month = u.billing_month",
    )
    figures, _charts = read_page(synced.report)
    assert status in ("ok", "warn", "over_plan")
    assert figures["usage.alert_status"] == status
    assert float(figures["usage.share_of_plan"]) == share
    assert float(figures["usage.projected_share_of_plan"]) == projected_share


def test_report_of_a_tenant_without_bookings(synced: Synced, tmp_path: Path) -> None:
    snapshot = tmp_path / "empty.duckdb"
    shutil.copy(synced.env.snapshot_path, snapshot)
    con = duckdb.connect(str(snapshot))
    try:
        for table in (
            "core.appointments",
            "analytics.booking_volume_daily",
            "analytics.webhook_reconciliation",
        ):
            con.execute(f"DELETE FROM {table}")
    finally:
        con.close()
    figures, charts = read_page(write_report(snapshot))
    assert figures["overview.appointments"] == "0"
    assert figures["lead_time.median_hours"] == ""
    assert figures["busy_hours.meetings"] == "0"
    assert figures["reconciliation.total_mismatches"] == "0"
    assert charts["chart-weekly-bookings"] == []
    assert {row["bookings"] for row in charts["chart-weekly-changes"]} == {0}
    assert len(charts["chart-busy-hours"]) == 7 * 24


def test_report_of_a_file_that_is_no_snapshot_names_the_missing_tables(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(ValueError, match=r"the snapshot lacks analytics\.booking_volume_daily, "):
        write_report(other)
    assert not report_path_for(other).exists()


def test_the_renderer_process_writes_the_page_and_says_why_it_could_not(
    synced: Synced, tmp_path: Path
) -> None:
    snapshot = tmp_path / "copy" / "snapshot.duckdb"
    snapshot.parent.mkdir()
    shutil.copy(synced.env.snapshot_path, snapshot)
    with ReportRenderer(reconciliation_warn_threshold=5) as renderer:
        page = renderer.render(snapshot)
    assert page == report_path_for(snapshot)
    figures, by_sync = read_page(page)[0], read_page(synced.report)[0]
    assert figures.pop("reconciliation.threshold") == "5"  # the request's threshold is used
    by_sync.pop("reconciliation.threshold")
    assert figures == by_sync

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with (
        ReportRenderer(reconciliation_warn_threshold=5) as renderer,
        pytest.raises(ReportRendererError, match=r"the snapshot lacks analytics\."),
    ):
        renderer.render(other)
    assert not report_path_for(other).exists()

    with ReportRenderer(reconciliation_warn_threshold=5) as unused:
        pass  # leaving the block without a request ends the child without writing
    assert unused._running().returncode == 0


def test_report_command_writes_where_it_is_told(
    synced: Synced,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(synced.env.snapshot_path))
    output = tmp_path / "out" / "bookings.html"
    assert main(["report", "--output", str(output)]) == 0
    assert capsys.readouterr().out == f"report: {output}\n"
    assert read_page(output) == read_page(synced.report)


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run installs it)",
)
def test_page_renders_offline_in_headless_chromium(synced: Synced) -> None:
    """Every chart draws, nothing is requested but the page, no console message, and the
    figures and the charts' data read back from the browser equal the snapshot."""
    _file_figures, file_charts = read_page(synced.report)
    requests: list[str] = []
    failed: list[str] = []
    messages: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
            page.goto(synced.report.as_uri(), wait_until="load")
            assert page.evaluate("window.reportRendered") == len(CHART_IDS)
            marks = page.evaluate(
                """(ids) => Object.fromEntries(ids.map((id) => {
                    const svg = document.querySelector(`#${id} svg`);
                    const count = (mark) =>
                        svg.querySelectorAll(`g.mark-${mark}.role-mark > path`).length;
                    const width = svg ? svg.getBoundingClientRect().width : 0;
                    return [id, svg ? { width, rects: count("rect"), lines: count("line") } : {}];
                }))""",
                list(CHART_IDS),
            )
            figures = page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll('[data-figure]')]
                    .map((node) => [node.dataset.figure, node.dataset.value]))"""
            )
            charts = page.evaluate(
                """(fields) => Object.fromEntries(Object.entries(fields).map(([id, keys]) => [
                    id,
                    window.reportCharts[id].data('table').map((row) =>
                        Object.fromEntries(keys.map((key) => [key, row[key]]))),
                ]))""",
                {chart: list(rows[0]) for chart, rows in file_charts.items()},
            )
            meeting_types = page.evaluate(
                "window.reportCharts['chart-weekly-bookings'].scale('color').domain()"
            )
            injected = page.evaluate("[window.pwned, document.querySelectorAll('img').length]")
        finally:
            browser.close()

    assert requests == [synced.report.as_uri()]
    assert failed == []
    assert messages == []
    assert HOSTILE_NAME in meeting_types
    assert injected == [None, 0]
    assert all(chart["width"] > 0 for chart in marks.values()), marks
    assert marks["chart-busy-hours"]["rects"] == 7 * 24
    assert marks["chart-lead-times"]["rects"] == len(LEAD_TIME_BINS)
    assert marks["chart-weekly-changes"]["lines"] == 2
    assert marks["chart-weekly-bookings"]["rects"] > 52
    assert marks["chart-usage"]["rects"] == 13  # 12 months booked + the running one's projection
    assert marks["chart-mismatches"]["rects"] > 0
    assert_figures(figures, expected_figures(synced.env))
    assert charts == file_charts
    assert_charts(charts, synced.env.snapshot_path)
