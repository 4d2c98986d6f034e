"""The analyst guide's queries, run against a snapshot the real sync job built.

Every ```sql block of docs/analyst-guide.md is taken from the page as analysts copy it. One
simulated tenant, plus one booking known only from a webhook delivery, is synced through the
Dagster job once per module; each query must run on a read-only connection and return rows,
and where it is cheap a figure is compared with the same figure computed another way.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.warehouse.snapshot_shell import snapshot_shell_command
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync
from meetergo_pipeline_tests.support.webhooks import append_to_log

GUIDE = Path(__file__).parents[1] / "docs" / "analyst-guide.md"
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{2,4} (.+)$", re.MULTILINE)

Row = dict[str, Any]


@dataclass(frozen=True)
class GuideQuery:
    """One ```sql block of the guide and the heading it stands under."""

    heading: str
    sql: str


def guide_queries(text: str) -> list[GuideQuery]:
    queries = []
    for block in SQL_BLOCK.finditer(text):
        headings = HEADING.findall(text, 0, block.start())
        queries.append(GuideQuery(headings[-1] if headings else "", block.group(1)))
    return queries


QUERIES = guide_queries(GUIDE.read_text(encoding="utf-8"))


def query_under(heading: str, index: int = 0) -> str:
    """The `index`-th query under `heading`; fails naming the heading when there is none."""
    matching = [query.sql for query in QUERIES if query.heading == heading]
    assert len(matching) > index, f"the guide has no query {index + 1} under {heading!r}"
    return matching[index]


@dataclass(frozen=True)
class Demo:
    snapshot: Path
    webhook_only_id: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    config = SimulatorConfig(seed=11, users=5, appointments=700, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        env = PipelineEnv(sim, tmp_path_factory.mktemp("guide"))
        for name, value in env.variables().items():
            monkeypatch.setenv(name, value)
        template = next(iter(sim.tenant.appointments.values()))
        announced = {
            **template,
            "webhookType": "booking_created",
            "id": str(uuid.uuid4()),
            "secret": uuid.uuid4().hex,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        append_to_log(env.webhook_dir, [(announced, datetime.now(UTC))])
        result = run_sync("full")
        assert result.success
        yield Demo(env.snapshot_path, announced["id"])


@pytest.fixture(scope="module")
def con(demo: Demo) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(demo.snapshot), read_only=True)
    yield connection
    connection.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    (value,) = con.execute(sql).fetchone()  # type: ignore[misc]
    return value


def test_the_guide_answers_the_questions_analysts_ask() -> None:
    headings = {query.heading for query in QUERIES}
    assert {
        "Bookings per week per meeting type",
        "Cancellation rate per host",
        "How far ahead meetings are booked",
        "Busiest weekday and hour, in the hosts' local time",
        "This month's billable bookings and projected cost",
        "Bookings known only from webhooks",
        "Repeat bookers",
        "Who cancels",
    } <= headings


@pytest.mark.parametrize(
    "query", QUERIES, ids=[f"{n}-{query.heading}" for n, query in enumerate(QUERIES)]
)
def test_every_query_runs_read_only_and_returns_rows(
    con: duckdb.DuckDBPyConnection, query: GuideQuery
) -> None:
    assert fetch(con, query.sql), f"no rows under {query.heading!r}:\n{query.sql}"


def test_every_table_of_the_snapshot_is_in_the_guide(con: duckdb.DuckDBPyConnection) -> None:
    tables = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
    }
    assert len(tables) > 10
    text = GUIDE.read_text(encoding="utf-8")
    assert {table for table in tables if f"`{table}`" not in text} == set()


def test_weekly_bookings_are_the_bookings_made_in_each_week(
    con: duckdb.DuckDBPyConnection,
) -> None:
    weekly: Counter[Any] = Counter()
    for row in fetch(con, query_under("Bookings per week per meeting type")):
        weekly[row["week_start"]] += row["bookings_created"]
    counted = dict(
        con.execute(
            "SELECT CAST(date_trunc('week', timezone(s.reporting_timezone, b.created_at)) "
            "AS DATE), count(*) FROM analytics.bookings AS b, analytics.report_settings AS s "
            "WHERE b.created_at IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert sum(weekly.values()) > 0
    assert {week: n for week, n in weekly.items() if n} == {
        week: n for week, n in counted.items() if week in weekly
    }


def test_daily_bookings_match_the_daily_mart(con: duckdb.DuckDBPyConnection) -> None:
    rows = fetch(con, query_under("Bookings per day in the reporting time zone"))
    mart = dict(
        con.execute(
            "SELECT day, sum(bookings_created) FROM analytics.booking_volume_daily GROUP BY day"
        ).fetchall()
    )
    assert len(rows) == 30
    assert {row["day"]: row["bookings_created"] for row in rows} == {
        row["day"]: mart[row["day"]] for row in rows
    }


def test_cancellation_rates_count_every_hosted_booking(con: duckdb.DuckDBPyConnection) -> None:
    rows = fetch(con, query_under("Cancellation rate per host"))
    recounted = {
        name: (bookings, cancelled)
        for name, bookings, cancelled in con.execute(
            "SELECT u.full_name, count(*), count(*) FILTER (WHERE a.status = 'cancelled') "
            "FROM core.appointment_hosts AS h "
            "JOIN core.appointments AS a USING (appointment_id) "
            "JOIN core.users AS u ON u.user_id = h.user_id "
            "CROSS JOIN analytics.report_settings AS s "
            "WHERE date_trunc('month', timezone(s.reporting_timezone, a.created_at)) "
            "    > s.running_month - INTERVAL 3 MONTH "
            "GROUP BY u.full_name"
        ).fetchall()
    }
    assert {row["host_name"]: (row["bookings"], row["cancellations"]) for row in rows} == recounted
    for row in rows:
        assert row["cancellation_rate"] == round(row["cancellations"] / row["bookings"], 3)


def test_lead_time_buckets_hold_every_booking_with_a_lead_time(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = fetch(con, query_under("How far ahead meetings are booked"))
    assert sum(row["bookings"] for row in rows) == scalar(
        con, "SELECT count(lead_time_hours) FROM analytics.bookings"
    )
    assert sum(row["percent"] for row in rows) == pytest.approx(100, abs=0.5)


def test_busiest_hours_are_the_hosts_own_wall_clock(con: duckdb.DuckDBPyConnection) -> None:
    """Recounted in Python from the UTC start and the host's zone (zoneinfo, not DuckDB)."""
    rows = fetch(con, query_under("Busiest weekday and hour, in the hosts' local time"))
    default_zone = scalar(con, "SELECT reporting_timezone FROM analytics.report_settings")
    cells: Counter[tuple[int, int]] = Counter()
    for start_at, zone in con.execute(
        "SELECT a.start_at, u.timezone FROM core.appointments AS a "
        "LEFT JOIN core.users AS u ON u.user_id = a.host_user_id "
        "WHERE a.status = 'confirmed' AND a.deleted_at IS NULL"
    ).fetchall():
        local = start_at.astimezone(ZoneInfo(zone or default_zone))
        cells[(local.isoweekday(), local.hour)] += 1
    expected = sorted(cells.items(), key=lambda cell: (-cell[1], cell[0]))[:10]
    assert [((r["start_weekday"], r["start_hour"]), r["meetings"]) for r in rows] == expected


def test_this_months_billing_is_the_running_months_metered_bookings(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (row,) = fetch(con, query_under("This month's billable bookings and projected cost"))
    assert row["metered_so_far"] == scalar(
        con,
        "SELECT count(*) FROM analytics.metered_bookings AS m "
        "JOIN analytics.report_settings AS s ON m.billing_month = s.running_month",
    )
    assert row["billing_month"] == scalar(
        con, "SELECT running_month FROM analytics.report_settings"
    )
    assert row["metered_by"] == "predicate"
    assert row["projected_api_bookings"] >= row["metered_so_far"]
    by_user = fetch(con, query_under("This month's billable bookings and projected cost", 1))
    assert sum(user["api_bookings"] for user in by_user) == scalar(
        con,
        "SELECT count(*) FROM analytics.metered_bookings AS m "
        "JOIN analytics.report_settings AS s "
        "ON m.billing_month > s.running_month - INTERVAL 3 MONTH",
    )


def test_webhook_only_bookings_are_the_one_no_api_read_listed(
    con: duckdb.DuckDBPyConnection, demo: Demo
) -> None:
    rows = fetch(con, query_under("Bookings known only from webhooks"))
    assert [row["appointment_id"] for row in rows] == [demo.webhook_only_id]


def test_repeat_bookers_account_for_every_attendee(con: duckdb.DuckDBPyConnection) -> None:
    distribution = fetch(con, query_under("Repeat bookers"))
    assert sum(row["booked_times"] * row["attendees"] for row in distribution) == scalar(
        con, "SELECT count(*) FROM core.appointment_attendees"
    )
    assert any(row["booked_times"] > 1 for row in distribution)
    top = fetch(con, query_under("Repeat bookers", 1))
    most = scalar(
        con,
        "SELECT count(*) FROM core.appointment_attendees GROUP BY attendee_key "
        "ORDER BY 1 DESC LIMIT 1",
    )
    assert top[0]["appointments"] == most


def test_who_cancels_covers_every_cancellation(con: duckdb.DuckDBPyConnection) -> None:
    rows = fetch(con, query_under("Who cancels"))
    assert sum(row["cancellations"] for row in rows) == scalar(
        con, "SELECT count(*) FROM core.appointments WHERE status = 'cancelled'"
    )
    assert {row["cancelled_by"] for row in rows} <= {"attendee", "host", "api", "not known"}


@pytest.mark.slow
def test_every_query_runs_in_the_duckdb_cli_analysts_install(demo: Demo) -> None:
    """The DuckDB 1.x CLI (`pip install duckdb-cli`), not the pipeline's own DuckDB."""
    try:
        cli = snapshot_shell_command(demo.snapshot)[0]
    except ValueError as missing:
        pytest.skip(f"the DuckDB CLI is not installed here ({missing})")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v1."), version.stdout
    for query in QUERIES:
        completed = subprocess.run(
            [cli, "-readonly", "-csv", str(demo.snapshot), query.sql],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0 and not completed.stderr, (query.heading, completed)
        assert len(completed.stdout.splitlines()) >= 2, (query.heading, completed.stdout)
