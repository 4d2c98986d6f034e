"""Usage billing projection and the plan alert, built over real DuckDB files.

Raw API rows are stored the way test_analytics_sql.py stores them (the API's JSON payload
beside the typed keys); the bookings of a steady tenant come from :func:`schedule`, evenly
spaced within each UTC day, so the expected figures can be worked out by hand. Every test
uses a plan of 1,000 included bookings at 0.50 EUR above that unless it says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meetergo_pipeline.transform import (
    TransformSettings,
    build_analytics,
    build_core,
    check_usage_against_plan,
)
from meetergo_pipeline_tests.support.raw_rows import (
    READ_AT,
    add_meeting_type,
    add_user,
    appointment_payload,
    open_raw_db,
    user_payload,
)

PLAN = TransformSettings(plan_included_bookings=1000, plan_price_per_booking=Decimal("0.50"))

FIGURES = (
    "billing_month, api_bookings, share_of_plan, projected_api_bookings, "
    "projected_share_of_plan, projected_overage_bookings, projected_estimated_cost, "
    "projection_history_days, projection_daily_rate, estimated_cost, alert_rule, alert_status"
)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_raw_db(tmp_path / "warehouse.duckdb")
    add_user(connection, user_payload("user-api", "bot@example.com", user_type="api-platform"))
    add_meeting_type(connection, "mt-1", "user-api")
    yield connection
    connection.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def schedule(start: datetime, end: datetime, per_day: int) -> list[datetime]:
    """``per_day`` bookings a day, one in the middle of each equal slot, from ``start`` up to
    (excluding) ``end``; ``start`` is a midnight (UTC)."""
    slot = timedelta(days=1) / per_day
    times: list[datetime] = []
    moment = start + slot / 2
    while moment < end:
        times.append(moment)
        moment += slot
    return times


def add_bookings(con: duckdb.DuckDBPyConnection, created: list[datetime]) -> None:
    """Metered bookings (host user-api) created at ``created``, as one raw insert."""
    (offset,) = con.execute("SELECT count(*) FROM raw.appointments").fetchone()
    payloads = []
    for index, moment in enumerate(created, start=offset):
        start = moment + timedelta(days=2)
        payloads.append(
            appointment_payload(
                f"apt-{index:05d}",
                start.isoformat(),
                (start + timedelta(minutes=30)).isoformat(),
                moment.isoformat(),
                host="user-api",
            )
        )
    con.execute(
        "INSERT INTO raw.appointments (appointment_id, created_at, start_at, payload, "
        "source_updated_at, first_seen_at, last_seen_at, deleted_at, fields) "
        "SELECT *, appointment_fields(payload) FROM (SELECT unnest($ids), unnest($created), "
        "unnest($starts), unnest($payloads) AS payload, unnest($created), $read, $read, NULL)",
        {
            "ids": [payload["id"] for payload in payloads],
            "created": [payload["createdAt"] for payload in payloads],
            "starts": [payload["start"] for payload in payloads],
            "payloads": [json.dumps(payload) for payload in payloads],
            "read": READ_AT,
        },
    )


def build(
    con: duckdb.DuckDBPyConnection, now: datetime, settings: TransformSettings = PLAN
) -> None:
    build_core(con)
    build_analytics(con, settings, now=now)


def closed_months(con: duckdb.DuckDBPyConnection, columns: str) -> list[tuple[Any, ...]]:
    """``columns`` of the months before the running one, oldest first."""
    return con.execute(
        f"SELECT {columns} FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON u.billing_month < s.running_month "
        "ORDER BY u.billing_month"
    ).fetchall()


def running_month(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    cursor = con.execute(
        f"SELECT {FIGURES} FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON s.running_month = u.billing_month"
    )
    names = [column[0] for column in cursor.description]
    (row,) = cursor.fetchall()
    return dict(zip(names, row, strict=True))


def test_steady_tenant_at_half_past_midnight_on_the_first(con):
    # 900 in April (30 a day), then 2 bookings in May's first 30 minutes; the old run-rate
    # made this 2 / (0.5 h / 744 h) = 2,976 bookings (298 % of plan).
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-01"), 30))
    add_bookings(con, [at("2025-05-01T00:05"), at("2025-05-01T00:20")])

    build(con, now=at("2025-05-01T00:30"))

    # 28 days to 00:30: 29 on 04-03 (not 00:24), 27 x 30, 2 in May = 841 -> 30.04 a day,
    # x 30 days 23.5 h left, + 2 so far = 932.5
    assert running_month(con) == {
        "billing_month": date(2025, 5, 1),
        "api_bookings": 2,
        "share_of_plan": 0.002,
        "projected_api_bookings": 932,
        "projected_share_of_plan": 0.932,
        "projected_overage_bookings": 0,
        "projected_estimated_cost": Decimal("0.00"),
        "projection_history_days": 28.0,
        "projection_daily_rate": 30.0357,
        "estimated_cost": Decimal("0.00"),
        "alert_rule": "projection_near_plan",
        "alert_status": "warn",
    }
    outcome = check_usage_against_plan(con, PLAN)
    # 93 % of plan is a warning, never a page
    assert (outcome.passed, outcome.severity) == (False, "WARN")
    assert outcome.metadata["rule"] == "projection_near_plan"
    assert closed_months(con, "billing_month, api_bookings, alert_status") == [
        (date(2025, 4, 1), 900, "warn")
    ]

    # five and a half hours later the projection has hardly moved: 8 so far, 840 in the
    # 28 days to 06:00 -> 30 a day x 30.75 days left + 8 = 930.5
    add_bookings(con, schedule(at("2025-05-01"), at("2025-05-01T06:00"), 30)[1:])
    build(con, now=at("2025-05-01T06:00"))
    figures = running_month(con)
    assert (figures["api_bookings"], figures["projected_api_bookings"]) == (8, 931)
    assert check_usage_against_plan(con, PLAN).severity == "WARN"


def test_quiet_tenant_at_half_past_midnight_passes(con):
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-01"), 20))
    add_bookings(con, [at("2025-05-01T00:05"), at("2025-05-01T00:20")])

    build(con, now=at("2025-05-01T00:30"))

    # 20 on 04-03 (first at 00:36), 27 x 20, 2 in May = 562 / 28 x 30.979 + 2 = 623.8
    figures = running_month(con)
    assert (
        figures["projected_api_bookings"],
        figures["projected_share_of_plan"],
        figures["projection_daily_rate"],
        figures["alert_status"],
    ) == (624, 0.624, 20.0714, "ok")
    outcome = check_usage_against_plan(con, PLAN)
    assert (outcome.passed, outcome.severity) == (True, "WARN")
    assert outcome.metadata["rule"] == "within_plan"


def test_mid_month_projection_is_month_to_date_plus_trailing_rate(con):
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-16T12:00"), 20))

    build(con, now=at("2025-05-16T12:00"))

    # so far 15 x 20 + 10 = 310; 28 days hold 560 -> 20 a day x 15.5 days left = 310 more
    assert running_month(con) == {
        "billing_month": date(2025, 5, 1),
        "api_bookings": 310,
        "share_of_plan": 0.31,
        "projected_api_bookings": 620,
        "projected_share_of_plan": 0.62,
        "projected_overage_bookings": 0,
        "projected_estimated_cost": Decimal("0.00"),
        "projection_history_days": 28.0,
        "projection_daily_rate": 20.0,
        "estimated_cost": Decimal("0.00"),
        "alert_rule": "within_plan",
        "alert_status": "ok",
    }
    assert check_usage_against_plan(con, PLAN).passed


def test_last_hour_of_the_month_projects_the_final_hour_only(con):
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-31T23:00"), 20))

    build(con, now=at("2025-05-31T23:00"))

    # 30 x 20 + 19 = 619 so far; 20 a day x 1/24 day left = 0.83 more
    figures = running_month(con)
    assert (
        figures["api_bookings"],
        figures["projected_api_bookings"],
        figures["share_of_plan"],
        figures["projected_share_of_plan"],
        figures["projection_daily_rate"],
        figures["alert_status"],
    ) == (619, 620, 0.619, 0.62, 20.0, "ok")


def test_doubling_usage_warns_then_errors_once_the_projection_reaches_the_plan(con):
    # April at 20 a day (600), May at 40 a day (would end at 1,240)
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-01"), 20))
    loaded_until = at("2025-05-01")
    expected = [
        # now, so far, projected, daily rate, rule, status, check severity
        # 05-03: 80 + (26 x 20 + 80) / 28 x 29
        ("2025-05-03", 80, 701, 21.4286, "within_plan", "ok", None),
        # 05-06: 200 + (23 x 20 + 200) / 28 x 26
        ("2025-05-06", 200, 813, 23.5714, "projection_near_plan", "warn", "WARN"),
        # 05-12: 440 + (17 x 20 + 440) / 28 x 20
        ("2025-05-12", 440, 997, 27.8571, "projection_near_plan", "warn", "WARN"),
        # 05-13: 480 + (16 x 20 + 480) / 28 x 19 = 1,022.9, on 28 days of history
        ("2025-05-13", 480, 1023, 28.5714, "projection_reached_plan", "over_plan", "ERROR"),
    ]
    for now_text, so_far, projected, rate, rule, status, severity in expected:
        now = at(now_text)
        add_bookings(con, schedule(loaded_until, now, 40))
        loaded_until = now

        build(con, now=now)

        figures = running_month(con)
        assert (
            figures["api_bookings"],
            figures["projected_api_bookings"],
            figures["projection_daily_rate"],
            figures["projection_history_days"],
            figures["alert_rule"],
            figures["alert_status"],
        ) == (so_far, projected, rate, 28.0, rule, status), now_text
        outcome = check_usage_against_plan(con, PLAN)
        assert outcome.passed is (severity is None), now_text
        assert outcome.severity == (severity or "WARN"), now_text

    assert figures["projected_overage_bookings"] == 23
    assert figures["projected_estimated_cost"] == Decimal("11.50")
    assert outcome.metadata == {
        "rule": "projection_reached_plan",
        "alert_status": "over_plan",
        "billing_month": "2025-05-01",
        "api_bookings": 480,
        "plan_included_bookings": 1000,
        "share_of_plan": 0.48,
        "projected_api_bookings": 1023,
        "projected_share_of_plan": 1.023,
        "projection_history_days": 28.0,
        "projection_daily_rate": 28.5714,
        "estimated_cost": 0.0,
        "projected_estimated_cost": 11.5,
        "currency": "EUR",
    }
    assert outcome.description.startswith("2025-05 over_plan (projection_reached_plan)")


def test_new_tenant_thin_projection_warns_and_actual_usage_errors(con):
    # no history before May, then 120 bookings a day (first at 00:06)
    loaded_until = at("2025-05-01")
    expected = [
        # now, so far, history days, rate, projected, rule, status, severity, cost, projected cost
        # first hour: 5 / 7 (minimum span) x 30.96 days left + 5; the old run-rate said 3,720
        ("2025-05-01T01:00", 5, 0.04, 0.7143, 27, "within_plan", "ok", "WARN", "0.00", "0.00"),
        # 360 / 7 x 28 + 360: far over plan, but on 3 days of history only a warning
        (
            "2025-05-04T00:00",
            *(360, 3.0, 51.4286, 1800, "thin_projection_reached_plan", "warn", "WARN"),
            *("0.00", "400.00"),
        ),
        # 1,020 >= 1,000 actually used: error whatever the history
        (
            "2025-05-09T12:00",
            *(1020, 8.5, 120.0, 3720, "actual_reached_plan", "over_plan", "ERROR"),
            *("10.00", "1360.00"),
        ),
    ]
    for (
        now_text,
        so_far,
        history,
        rate,
        projected,
        rule,
        status,
        severity,
        cost,
        cost_p,
    ) in expected:
        now = at(now_text)
        add_bookings(con, schedule(loaded_until, now, 120))
        loaded_until = now

        build(con, now=now)

        figures = running_month(con)
        assert (
            figures["api_bookings"],
            figures["projection_history_days"],
            figures["projection_daily_rate"],
            figures["projected_api_bookings"],
            figures["alert_rule"],
            figures["alert_status"],
            figures["estimated_cost"],
            figures["projected_estimated_cost"],
        ) == (
            so_far,
            history,
            rate,
            projected,
            rule,
            status,
            Decimal(cost),
            Decimal(cost_p),
        ), now_text
        outcome = check_usage_against_plan(con, PLAN)
        assert (outcome.passed, outcome.severity) == (status == "ok", severity), now_text
        assert outcome.metadata["rule"] == rule
        assert outcome.metadata["projection_history_days"] == history


def test_actual_usage_over_plan_is_an_error(con):
    # 40 a day on a 500 plan: April closed at 1,200, May is past the plan by the 13th
    add_bookings(con, schedule(at("2025-04-01"), at("2025-05-16"), 40))
    settings = TransformSettings(plan_included_bookings=500, plan_price_per_booking=0.5)

    build(con, now=at("2025-05-16"), settings=settings)

    assert closed_months(
        con,
        "billing_month, api_bookings, share_of_plan, estimated_cost, alert_rule, alert_status, "
        "projected_api_bookings",
    ) == [
        (date(2025, 4, 1), 1200, 2.4, Decimal("350.00"), "actual_reached_plan", "over_plan", None)
    ]
    # 600 so far + 40 a day x 16 days = 1,240
    assert running_month(con) == {
        "billing_month": date(2025, 5, 1),
        "api_bookings": 600,
        "share_of_plan": 1.2,
        "projected_api_bookings": 1240,
        "projected_share_of_plan": 2.48,
        "projected_overage_bookings": 740,
        "projected_estimated_cost": Decimal("370.00"),
        "projection_history_days": 28.0,
        "projection_daily_rate": 40.0,
        "estimated_cost": Decimal("50.00"),
        "alert_rule": "actual_reached_plan",
        "alert_status": "over_plan",
    }
    outcome = check_usage_against_plan(con, settings)
    assert (outcome.passed, outcome.severity) == (False, "ERROR")
    assert outcome.metadata["rule"] == "actual_reached_plan"
    assert outcome.metadata["estimated_cost"] == 50.0
    assert outcome.metadata["share_of_plan"] == 1.2


@pytest.mark.parametrize(
    ("zone", "month", "so_far", "projected"),
    [
        # 1.5 h of April left: 599 + 20 x 0.0625
        ("UTC", date(2025, 4, 1), 599, 600),
        # already May 1st 00:30 in Berlin: 1 + 560 / 28 x 30.979 (month ends 05-31 22:00 UTC)
        ("Europe/Berlin", date(2025, 5, 1), 1, 621),
    ],
)
def test_projection_cuts_the_month_in_the_reporting_time_zone(con, zone, month, so_far, projected):
    add_bookings(con, schedule(at("2025-04-01"), at("2025-04-30T22:30"), 20))

    build(con, now=at("2025-04-30T22:30"), settings=TransformSettings(reporting_timezone=zone))

    figures = running_month(con)
    assert (
        figures["billing_month"],
        figures["api_bookings"],
        figures["projection_daily_rate"],
        figures["projected_api_bookings"],
    ) == (month, so_far, 20.0, projected)


def test_projection_rule_is_written_into_the_column_comments(con):
    build(con, now=at("2025-05-01"))

    comments = dict(
        con.execute(
            "SELECT column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'analytics' AND table_name = 'usage_billing_monthly'"
        ).fetchall()
    )
    assert "28 days up to report_settings.as_of divided by 28" in comments["projected_api_bookings"]
    assert "at least 7 days" in comments["projected_api_bookings"]
    assert "midnight UTC" in comments["projected_api_bookings"]
    assert ">= 14" in comments["alert_rule"]
    assert "80 %" in comments["alert_rule"]
    assert "ERROR" in comments["alert_status"]
    # a tenant with no metered bookings yet: nothing projected, nothing alarming
    assert running_month(con)["projected_api_bookings"] == 0
    assert running_month(con)["alert_status"] == "ok"
