"""Analytics layer and checks: daily volume, usage billing, reconciliation, on real DuckDB files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from meetergo_pipeline.models import MODELS, models_in
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.transform import (
    TransformSettings,
    build_analytics,
    build_core,
    check_appointments_reference_known_entities,
    check_non_null_keys,
    check_reconciliation,
    check_unique_ids,
    check_usage_against_plan,
)
from meetergo_pipeline_tests.support.raw_rows import (
    add_appointment,
    add_event,
    add_meeting_type,
    add_user,
    appointment_payload,
    flat_event,
    table_snapshot,
    user_payload,
)

APRIL_11 = datetime(2025, 4, 11, tzinfo=UTC)  # a third of April (30 days) has elapsed


def build(
    con: duckdb.DuckDBPyConnection,
    settings: TransformSettings | None = None,
    now: datetime = APRIL_11,
) -> dict[str, int]:
    build_core(con)
    return build_analytics(con, settings or TransformSettings(), now=now)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def add_booking(
    con: duckdb.DuckDBPyConnection,
    appointment_id: str,
    created_at: str,
    host: str = "user-api",
    **kwargs: Any,
) -> dict[str, Any]:
    payload = appointment_payload(
        appointment_id,
        kwargs.pop("start", "2025-05-01T10:00:00Z"),
        kwargs.pop("end", "2025-05-01T10:30:00Z"),
        created_at,
        host=host,
        **kwargs,
    )
    add_appointment(con, payload, deleted_at=kwargs.get("deleted_at"))
    return payload


def seed_platform_users(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, user_payload("user-api", "bot@example.com", user_type="api-platform"))
    add_user(con, user_payload("user-std", "human@example.com", user_type="standard"))
    add_meeting_type(con, "mt-1", "user-api")


# --- booking_volume_daily ------------------------------------------------------------------


def test_booking_volume_daily_in_utc(con):
    seed_platform_users(con)
    add_booking(
        con,
        "apt-late",
        "2025-03-10T23:30:00Z",
        start="2025-03-12T09:00:00Z",
        end="2025-03-12T09:30:00Z",
    )
    add_booking(
        con,
        "apt-cancelled",
        "2025-03-10T08:00:00Z",
        start="2025-03-12T11:00:00Z",
        end="2025-03-12T11:30:00Z",
        updated_at="2025-03-11T07:00:00Z",
        cancelled_at="2025-03-11T07:00:00Z",
    )
    add_booking(
        con,
        "apt-moved",
        "2025-03-10T09:00:00Z",
        start="2025-03-13T09:00:00Z",
        end="2025-03-13T09:30:00Z",
        updated_at="2025-03-11T08:00:00Z",
        rescheduled_at="2025-03-11T08:00:00Z",
        reschedule_count=1,
    )
    # deleted from the API: still counted as created, never as a meeting scheduled
    payload = appointment_payload(
        "apt-deleted",
        "2025-03-12T15:00:00Z",
        "2025-03-12T15:30:00Z",
        "2025-03-10T10:00:00Z",
        host="user-api",
    )
    add_appointment(con, payload, deleted_at="2025-03-11T00:00:00Z")

    build(con)

    assert rows(
        con, "SELECT * EXCLUDE (tenant_id) FROM analytics.booking_volume_daily ORDER BY ALL"
    ) == [
        (date(2025, 3, 10), "mt-1", "Intro call", "user-api", "Ada Lovelace", 4, 0, 0, 0),
        (date(2025, 3, 11), "mt-1", "Intro call", "user-api", "Ada Lovelace", 0, 1, 1, 0),
        (date(2025, 3, 12), "mt-1", "Intro call", "user-api", "Ada Lovelace", 0, 0, 0, 1),
        (date(2025, 3, 13), "mt-1", "Intro call", "user-api", "Ada Lovelace", 0, 0, 0, 1),
    ]


def test_booking_volume_daily_in_berlin(con):
    seed_platform_users(con)
    add_booking(
        con,
        "apt-late",
        "2025-03-10T23:30:00Z",
        start="2025-03-12T23:30:00Z",
        end="2025-03-13T00:00:00Z",
    )
    add_booking(
        con,
        "apt-early",
        "2025-03-10T22:59:59Z",
        start="2025-03-12T09:00:00+01:00",
        end="2025-03-12T09:30:00+01:00",
    )

    build(con, TransformSettings(reporting_timezone="Europe/Berlin"))

    assert rows(
        con,
        "SELECT day, bookings_created, meetings_scheduled FROM analytics.booking_volume_daily "
        "ORDER BY ALL",
    ) == [
        (date(2025, 3, 10), 1, 0),
        (date(2025, 3, 11), 1, 0),
        (date(2025, 3, 12), 0, 1),
        (date(2025, 3, 13), 0, 1),
    ]


# --- usage billing ---------------------------------------------------------------------------


def seed_billing(con: duckdb.DuckDBPyConnection) -> None:
    seed_platform_users(con)
    # March (UTC): 6 metered bookings, 2 cancelled later and still billed; 1 by a standard user
    for index in range(5):
        add_booking(con, f"apt-mar-{index}", f"2025-03-0{index + 1}T12:00:00Z")
    add_event(
        con,
        {
            "webhookType": "booking_cancelled",
            "id": "apt-mar-0",
            "isCancelled": True,
            "cancel": {"actionAt": "2025-04-02T08:00:00Z"},
        },
        received_at="2025-04-02T08:00:01Z",
    )
    add_booking(
        con,
        "apt-mar-late",
        "2025-03-31T23:30:00Z",
        updated_at="2025-04-01T10:00:00Z",
        cancelled_at="2025-04-01T10:00:00Z",
    )
    add_booking(con, "apt-human", "2025-03-15T12:00:00Z", host="user-std")
    # April so far: 3 metered bookings
    for index in range(3):
        add_booking(con, f"apt-apr-{index}", f"2025-04-0{index + 1}T12:00:00Z")


def test_usage_billing_cancellation_does_not_refund_and_overage_costs(con):
    seed_billing(con)
    settings = TransformSettings(plan_included_bookings=4, plan_price_per_booking=0.5)

    build(con, settings)

    assert rows(
        con,
        "SELECT billing_month, api_bookings, cancelled_api_bookings, plan_included_bookings, "
        "included_bookings, overage_bookings, estimated_cost, currency, projected_api_bookings, "
        "projected_estimated_cost FROM analytics.usage_billing_monthly",
    ) == [
        (date(2025, 3, 1), 6, 2, 4, 4, 2, Decimal("1.00"), "EUR", None, None),
        # 3 so far + 4 bookings in the 28 days to 04-11 / 28 x 20 days left = 5.86
        (date(2025, 4, 1), 3, 0, 4, 3, 0, Decimal("0.00"), "EUR", 6, Decimal("1.00")),
    ]
    assert rows(con, "SELECT * EXCLUDE (tenant_id) FROM analytics.usage_billing_by_user") == [
        (date(2025, 3, 1), "user-api", "bot@example.com", 6, 2),
        (date(2025, 4, 1), "user-api", "bot@example.com", 3, 0),
    ]
    (comment,) = rows(
        con,
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'analytics' "
        "AND table_name = 'usage_billing_monthly'",
    )[0]
    assert "u.user_type = ''api-platform''" not in comment
    assert "u.user_type = 'api-platform'" in comment
    assert "4 bookings included per month, 0.50 EUR per booking" in comment


def test_billing_month_follows_reporting_time_zone(con):
    seed_billing(con)

    build(con, TransformSettings(reporting_timezone="Europe/Berlin"))

    # 2025-03-31T23:30Z is April 1st in Berlin
    assert rows(con, "SELECT billing_month, api_bookings FROM analytics.usage_billing_monthly") == [
        (date(2025, 3, 1), 5),
        (date(2025, 4, 1), 4),
    ]


def test_projection_only_for_running_month_with_injected_now(con):
    seed_billing(con)

    build(con, now=datetime(2025, 5, 16, 12, tzinfo=UTC))

    assert rows(
        con,
        "SELECT billing_month, api_bookings, projected_api_bookings "
        "FROM analytics.usage_billing_monthly",
    ) == [
        (date(2025, 3, 1), 6, None),
        (date(2025, 4, 1), 3, None),
        (date(2025, 5, 1), 0, 0),
    ]
    assert rows(con, "SELECT running_month FROM analytics.report_settings") == [(date(2025, 5, 1),)]


def test_custom_predicate(con):
    seed_billing(con)
    settings = TransformSettings(
        metered_booking_predicate="u.email LIKE '%@example.com' AND a.channel = 'zoom'",
        plan_currency="USD",
    )

    build(con, settings)

    assert rows(
        con, "SELECT billing_month, api_bookings, currency FROM analytics.usage_billing_monthly"
    ) == [(date(2025, 3, 1), 7, "USD"), (date(2025, 4, 1), 3, "USD")]
    assert rows(
        con,
        "SELECT metered_booking_predicate FROM analytics.report_settings",
    ) == [("u.email LIKE '%@example.com' AND a.channel = 'zoom'",)]


@pytest.mark.parametrize(
    ("predicate", "reason"),
    [
        ("u.no_such_column = 1", "no_such_column"),
        ("a.attendee_count + 1", "not BOOLEAN"),
        ("true) AS x FROM core.users; DROP TABLE core.users; SELECT (true", "single expression"),
        ("u.user_type = ", "syntax"),
    ],
)
def test_bad_predicate_raises_clear_error(con, predicate, reason):
    build_core(con)

    with pytest.raises(ValueError, match="MEETERGO_METERED_BOOKING_PREDICATE") as error:
        build_analytics(con, TransformSettings(metered_booking_predicate=predicate), now=APRIL_11)

    assert reason.lower() in str(error.value).lower()
    # nothing ran: the DROP smuggled into the predicate never executed
    assert rows(con, "SELECT count(*) FROM core.users") == [(0,)]


def test_bad_timezone_raises_clear_error(con):
    build_core(con)

    with pytest.raises(ValueError, match=r"MEETERGO_REPORTING_TIMEZONE='Mars/Olympus_Mons'"):
        build_analytics(con, TransformSettings(reporting_timezone="Mars/Olympus_Mons"))


@pytest.mark.parametrize(
    ("kwargs", "env_var"),
    [
        ({"plan_currency": "euro"}, "MEETERGO_PLAN_CURRENCY"),
        ({"plan_included_bookings": -1}, "MEETERGO_PLAN_INCLUDED_BOOKINGS"),
        ({"plan_price_per_booking": float("nan")}, "MEETERGO_PLAN_PRICE_PER_BOOKING"),
        ({"metered_booking_predicate": "  "}, "MEETERGO_METERED_BOOKING_PREDICATE"),
    ],
)
def test_bad_plan_settings_name_their_env_var(kwargs, env_var):
    with pytest.raises(ValueError, match=env_var):
        TransformSettings(**kwargs)


def test_settings_from_env():
    settings = TransformSettings.from_settings(
        Settings.from_env(
            {
                "MEETERGO_REPORTING_TIMEZONE": "Europe/Berlin",
                "MEETERGO_PLAN_INCLUDED_BOOKINGS": "250",
                "MEETERGO_PLAN_PRICE_PER_BOOKING": "0.35",
                "MEETERGO_PLAN_CURRENCY": "chf",
                "MEETERGO_METERED_BOOKING_PREDICATE": "",
            }
        )
    )
    assert settings == TransformSettings(
        reporting_timezone="Europe/Berlin",
        metered_booking_predicate="u.user_type = 'api-platform'",
        plan_included_bookings=250,
        plan_price_per_booking=Decimal("0.35"),
        plan_currency="CHF",
    )
    assert TransformSettings.from_settings(Settings.from_env({})) == TransformSettings()
    with pytest.raises(ValueError, match="MEETERGO_PLAN_INCLUDED_BOOKINGS"):
        Settings.from_env({"MEETERGO_PLAN_INCLUDED_BOOKINGS": "lots"})


def test_analytics_rebuild_is_idempotent_and_commented(con):
    seed_billing(con)

    first = build(con)
    marts = [model.table for model in models_in("analytics")]
    snapshots = {table: table_snapshot(con, table) for table in marts}
    second = build(con)

    assert first == second
    assert set(first) == set(marts)
    assert {table: table_snapshot(con, table) for table in marts} == snapshots
    assert (
        rows(
            con,
            """
        SELECT table_name || coalesce('.' || column_name, '') FROM (
            SELECT table_name, NULL AS column_name, comment FROM duckdb_tables()
            WHERE schema_name = 'analytics'
            UNION ALL
            SELECT table_name, column_name, comment FROM duckdb_columns()
            WHERE schema_name = 'analytics'
        ) WHERE comment IS NULL OR length(comment) < 10
        """,
        )
        == []
    )


# --- reconciliation --------------------------------------------------------------------------


def seed_reconciliation(con: duckdb.DuckDBPyConnection) -> None:
    seed_platform_users(con)
    # before the receiver existed: never flagged
    add_booking(con, "apt-history", "2025-02-01T09:00:00Z")
    # fully matched: created event, then the API read
    matched = add_booking(con, "apt-matched", "2025-03-01T00:00:00Z")
    add_event(con, flat_event("booking_created", matched), received_at="2025-03-01T00:00:05Z")
    # 03-05: created, API knows it, the created webhook never came
    add_booking(con, "apt-no-created-event", "2025-03-05T10:00:00Z")
    # 03-06: API shows a cancellation no webhook announced
    cancelled = add_booking(
        con,
        "apt-silent-cancel",
        "2025-03-02T10:00:00Z",
        updated_at="2025-03-06T10:00:00Z",
        cancelled_at="2025-03-06T10:00:00Z",
    )
    add_event(
        con,
        flat_event(
            "booking_created",
            cancelled,
            isCancelled=False,
            cancel=None,
            updatedAt="2025-03-02T10:00:00Z",
        ),
        received_at="2025-03-02T10:00:01Z",
    )
    # 03-07: API shows a reschedule no webhook announced
    moved = add_booking(
        con,
        "apt-silent-move",
        "2025-03-02T11:00:00Z",
        updated_at="2025-03-07T10:00:00Z",
        rescheduled_at="2025-03-07T10:00:00Z",
        reschedule_count=1,
    )
    add_event(
        con,
        flat_event(
            "booking_created",
            moved,
            rescheduledAt=None,
            rescheduleCount=0,
            updatedAt="2025-03-02T11:00:00Z",
        ),
        received_at="2025-03-02T11:00:01Z",
    )
    # 03-08: a booking only the webhook knows so far
    fresh = appointment_payload(
        "apt-webhook-only",
        "2025-03-20T10:00:00Z",
        "2025-03-20T10:30:00Z",
        "2025-03-08T10:00:00Z",
        host="user-api",
    )
    add_event(con, flat_event("booking_created", fresh), received_at="2025-03-08T10:00:01Z")
    # 03-09: cancel event, but a newer API read says confirmed
    disputed = add_booking(
        con, "apt-disputed", "2025-03-03T10:00:00Z", updated_at="2025-03-09T12:00:00Z"
    )
    add_event(
        con,
        flat_event("booking_created", disputed, updatedAt="2025-03-03T10:00:00Z"),
        received_at="2025-03-03T10:00:01Z",
    )
    add_event(
        con,
        flat_event(
            "booking_cancelled",
            disputed,
            isCancelled=True,
            cancel={"actionAt": "2025-03-09T10:00:00Z"},
        ),
        received_at="2025-03-09T10:00:01Z",
    )


def test_webhook_reconciliation_counts(con):
    seed_reconciliation(con)

    build(con)

    assert rows(
        con,
        "SELECT * EXCLUDE (tenant_id) FROM analytics.webhook_reconciliation "
        "WHERE total_mismatches > 0",
    ) == [
        # day, events, without_api, creations, cancellations, reschedules, api_changes,
        # disagreements, total
        (date(2025, 3, 5), 0, 0, 1, 0, 0, 1, 0, 1),
        (date(2025, 3, 6), 0, 0, 0, 1, 0, 1, 0, 1),
        (date(2025, 3, 7), 0, 0, 0, 0, 1, 1, 0, 1),
        (date(2025, 3, 8), 1, 1, 0, 0, 0, 0, 0, 1),
        (date(2025, 3, 9), 1, 0, 0, 0, 0, 0, 1, 1),
    ]
    assert rows(con, "SELECT sum(booking_events) FROM analytics.webhook_reconciliation") == [
        (Decimal(6),)
    ]
    disputed = rows(
        con, "SELECT status, source FROM core.appointments WHERE appointment_id = 'apt-disputed'"
    )
    assert disputed == [("confirmed", "api")]


def test_cancel_before_created_flags_missing_creation_until_it_arrives(con):
    seed_platform_users(con)
    earlier = add_booking(con, "apt-earlier", "2025-03-01T00:00:00Z")
    add_event(con, flat_event("booking_created", earlier), received_at="2025-03-01T00:00:01Z")
    appointment = appointment_payload(
        "apt-cancel-first",
        "2025-03-22T10:00:00Z",
        "2025-03-22T11:00:00Z",
        "2025-03-20T10:00:00Z",
        host="user-api",
    )
    add_event(
        con,
        flat_event(
            "booking_cancelled",
            appointment,
            isCancelled=True,
            cancel={"actionAt": "2025-03-20T10:05:00Z"},
        ),
        received_at="2025-03-20T10:05:01Z",
    )

    build(con)
    assert rows(
        con,
        "SELECT status FROM core.appointments WHERE appointment_id = 'apt-cancel-first'",
    ) == [("cancelled",)]
    assert rows(
        con,
        "SELECT day, creations_without_event FROM analytics.webhook_reconciliation "
        "WHERE creations_without_event > 0",
    ) == [(date(2025, 3, 20), 1)]

    add_event(con, flat_event("booking_created", appointment), received_at="2025-03-20T10:06:00Z")
    build(con)
    assert rows(
        con, "SELECT sum(creations_without_event) FROM analytics.webhook_reconciliation"
    ) == [(Decimal(0),)]
    assert rows(
        con,
        "SELECT status FROM core.appointments WHERE appointment_id = 'apt-cancel-first'",
    ) == [("cancelled",)]


# --- checks ----------------------------------------------------------------------------------


def test_check_unique_ids_and_non_null_keys(con):
    seed_billing(con)
    build(con)

    unique = check_unique_ids(con, "core.appointments", "appointment_id")
    assert (unique.passed, unique.severity) == (True, "ERROR")
    assert unique.metadata["duplicated_ids"] == 0

    con.execute(
        "CREATE TABLE main.appointments_copy AS "
        "SELECT * FROM core.appointments UNION ALL "
        "SELECT * FROM core.appointments WHERE appointment_id = 'apt-apr-1'"
    )
    duplicated = check_unique_ids(con, "main.appointments_copy", "appointment_id")
    assert (duplicated.passed, duplicated.severity) == (False, "ERROR")
    assert duplicated.metadata["sample"] == ["apt-apr-1"]

    keys = check_non_null_keys(con, "core.appointments", ["appointment_id", "created_at"])
    assert keys.passed
    con.execute(
        "UPDATE main.appointments_copy SET created_at = NULL WHERE appointment_id = 'apt-apr-0'"
    )
    nulls = check_non_null_keys(con, "main.appointments_copy", ["appointment_id", "created_at"])
    assert (nulls.passed, nulls.severity) == (False, "ERROR")
    assert nulls.metadata["null_counts"] == {"appointment_id": 0, "created_at": 1}

    with pytest.raises(ValueError, match="identifier"):
        check_unique_ids(con, "core.appointments; DROP TABLE x", "appointment_id")


def test_check_appointments_reference_known_entities(con):
    seed_billing(con)
    build(con)
    assert check_appointments_reference_known_entities(con).passed

    add_booking(
        con, "apt-orphan", "2025-04-05T12:00:00Z", host="user-ghost", meeting_type_id="mt-ghost"
    )
    build(con)
    outcome = check_appointments_reference_known_entities(con)
    assert (outcome.passed, outcome.severity) == (False, "WARN")
    assert outcome.metadata == {
        "unknown_meeting_types": 1,
        "unknown_hosts": 1,
        "sample_appointment_ids": ["apt-orphan"],
    }


@pytest.mark.parametrize(
    ("included", "passed", "severity"),
    [(8, True, "WARN"), (7, False, "WARN"), (6, False, "ERROR"), (0, False, "ERROR")],
)
def test_check_usage_against_plan(con, included, passed, severity):
    seed_billing(con)  # April 11: 3 bookings + 4/28 a day x 20 days left -> projected 6
    settings = TransformSettings(plan_included_bookings=included)
    build(con, settings)

    outcome = check_usage_against_plan(con, settings)

    assert (outcome.passed, outcome.severity) == (passed, severity)
    assert outcome.metadata["projected_api_bookings"] == 6
    assert outcome.metadata["billing_month"] == "2025-04-01"


def test_check_reconciliation_threshold(con):
    seed_reconciliation(con)
    build(con)

    over = check_reconciliation(con, threshold=4)
    assert (over.passed, over.severity) == (False, "WARN")
    assert over.metadata["total_mismatches"] == 5
    assert over.metadata["state_disagreements"] == 1
    assert check_reconciliation(con, threshold=5).passed
    assert check_reconciliation(con, threshold=0, since=date(2025, 3, 10)).passed


def test_every_check_passes_on_a_clean_build_but_missed_webhooks(con):
    seed_billing(con)
    settings = TransformSettings()
    counts = build_core(con) | build_analytics(con, settings, now=APRIL_11)

    assert counts["analytics.metered_bookings"] == 9
    keyed = [model for model in MODELS if model.key and model.layer != "raw"]
    assert {model.table for model in keyed} >= {"core.appointments", "analytics.metered_bookings"}
    for model in keyed:
        outcome = check_unique_ids(con, model.table, model.key)
        assert outcome.passed, outcome.description
        assert outcome.metadata["rows"] == counts[model.table]
    appointment_keys = check_non_null_keys(con, "core.appointments", ["status", "source"])
    assert appointment_keys.metadata["null_counts"] == {"status": 0, "source": 0}
    assert check_appointments_reference_known_entities(con).passed
    assert check_usage_against_plan(con, settings).passed
    # the receiver started on 04-02; the API's bookings of 04-02 12:00 and 04-03 had no webhook
    strict = check_reconciliation(con)
    assert not strict.passed
    assert strict.metadata["creations_without_event"] == 2
    assert strict.metadata["total_mismatches"] == 2
    assert check_reconciliation(con, threshold=2).passed
