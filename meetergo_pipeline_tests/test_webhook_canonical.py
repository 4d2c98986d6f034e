"""How the ingest reads a webhook body: the typed columns of raw.webhook_events.

The ingest's SQL is the one owner of the body's shapes; ``webhooks/body.py`` mirrors type and
appointment id for the receiver. Every body here goes through the real ingest (receiver log
lines, then ``ingest_webhook_logs``) into a real DuckDB file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from meetergo_pipeline.simulator.events import TenantEvent
from meetergo_pipeline.simulator.webhooks import legacy_envelope
from meetergo_pipeline.transform import build_core
from meetergo_pipeline.webhooks.body import first_key_wins, read_body_keys
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs
from meetergo_pipeline.webhooks.log import delivery_line
from meetergo_pipeline.webhooks.receiver import judge_body
from meetergo_pipeline_tests.support.raw_rows import appointment_payload, ts
from meetergo_pipeline_tests.support.webhooks import ingest_body, ingest_deliveries

RECEIVED = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


def stored(con: duckdb.DuckDBPyConnection, columns: str, order: str = "received_at") -> list:
    return con.execute(f"SELECT {columns} FROM raw.webhook_events ORDER BY {order}").fetchall()


# Body texts, not dicts: repeated keys must reach both readers as sent.
BODY_TEXTS = [
    '{"webhookType":"booking_created","id":"a-1"}',
    '{"webhookType":"booking_canceled","id":"a-2"}',
    '{"webhookType":"Booking Cancelled","id":"a-3"}',
    '{"webhookType":"  BOOKING__created  ","id":"a-4"}',
    '{"webhookType":"appointment_created","id":"a-5"}',
    '{"webhookType":"booking_new","id":"a-6"}',
    '{"webhookType":"appointment_rescheduled","id":"a-7"}',
    '{"webhookType":"appointment_canceled","id":"a-8"}',
    '{"webhookType":"booking_cancelled"}',
    '{"webhookType":"booking_cancelled","id":""}',
    '{"webhookType":"booking_cancelled","id":null}',
    '{"webhookType":"booking_cancelled","id":42}',
    '{"webhookType":"booking_cancelled","id":1.5}',
    '{"webhookType":"booking_cancelled","id":1e3}',
    '{"webhookType":"booking_created","id":"first","id":"second"}',
    '{"webhookType":"booking_created","id":"","id":"second"}',
    '{"webhookType":"booking_created","appointmentId":"flat-bodies-use-id-only"}',
    '{"event":"booking.cancelled","timestamp":"2025-03-04T10:30:00Z","data":{"appointmentId":"l-1"}}',
    '{"event":"booking_created","data":{"id":"l-2"}}',
    '{"event":"booking_created","data":{"appointmentId":null,"id":"l-3"}}',
    '{"event":"booking_created","data":{"appointmentId":"","id":"l-4"}}',
    '{"event":"booking_created","data":"not an object","appointmentId":"l-5"}',
    '{"event":"booking_created","data":{"meetingTypeId":"mt-1"}}',
    '{"webhookType":null,"event":"booking_rescheduled","data":{"appointmentId":"l-6"}}',
    '{"webhookType":"booking_created","event":"booking_cancelled","id":"both-keys"}',
    '{"webhookType":"Booking_Reminder-Sent","id":"a-9"}',
    '{"webhookType":"new_employee","id":"user-1"}',
    '{"webhookType":"review_submitted","id":"r-1"}',
    '{"webhookType":"bööking_created","id":"a-10"}',
    '{"webhookType":5,"id":"a-11"}',
    '{"webhookType":true,"id":"a-12"}',
    '{"webhookType":{"name":"booking_created"},"id":"a-13"}',
    '{"webhookType":"","id":"a-14"}',
    '{"webhookType":"---","id":"a-15"}',
    '{"id":"no-type-at-all"}',
]


def test_receiver_and_ingest_read_type_and_appointment_id_alike(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    lines = [
        delivery_line(RECEIVED + timedelta(seconds=index), text.encode())
        for index, text in enumerate(BODY_TEXTS)
    ]
    (log_dir / "events-2025-03-20.jsonl").write_bytes(b"".join(lines))
    assert ingest_webhook_logs(con, log_dir).new_events == len(BODY_TEXTS)

    ingested = stored(con, "payload_format, event_type_as_sent, event_type, appointment_id")
    mirrored = []
    for text in BODY_TEXTS:
        keys = read_body_keys(json.loads(text, object_pairs_hook=first_key_wins))
        mirrored.append(
            (keys.payload_format, keys.event_type_as_sent, keys.event_type, keys.appointment_id)
        )
    assert mirrored == ingested
    # The receiver quarantines exactly the booking events the ingest finds no appointment for.
    quarantined = [judge_body(text.encode()).status == 202 for text in BODY_TEXTS]
    no_appointment = [t.startswith("booking_") and a is None for _, _, t, a in ingested]
    assert quarantined == no_appointment
    assert sum(quarantined) == 6
    # A few readings spelled out, so a rule both sides lost would still be caught.
    by_sent = {row[1]: row for row in ingested}
    assert by_sent["Booking Cancelled"][2:] == ("booking_cancelled", "a-3")
    assert by_sent["booking.cancelled"] == (
        "legacy",
        "booking.cancelled",
        "booking_cancelled",
        "l-1",
    )
    assert by_sent["Booking_Reminder-Sent"][2:] == ("booking_reminder_sent", "a-9")
    assert by_sent["new_employee"][2:] == ("new_employee", None)
    assert by_sent["---"][2:] == ("unknown", None)
    assert by_sent[None] == ("flat", None, "unknown", None)
    assert ("flat", "booking_created", "booking_created", "first") in ingested
    assert ("flat", "booking_cancelled", "booking_cancelled", "1000.0") in ingested


def cancellation(spelling: str, appointment_id: str, **fields: Any) -> dict[str, Any]:
    return {"webhookType": spelling, "id": appointment_id, "isCancelled": True, **fields}


def test_spellings_of_a_cancellation_share_the_type_and_the_time_rule(
    con: duckdb.DuckDBPyConnection,
) -> None:
    action_at, updated_at = "2025-03-05T12:00:00+01:00", "2025-03-05T11:30:00Z"
    spellings = [
        "booking_cancelled",
        "booking_canceled",
        "appointment_cancelled",
        "Booking Cancelled",
    ]
    bodies = [
        cancellation(s, f"apt-{i}", cancel={"actionAt": action_at}, updatedAt=updated_at)
        for i, s in enumerate(spellings)
    ]
    # Legacy spelling with an envelope timestamp that differs: the type's own field wins.
    bodies.append(
        {
            "event": "booking.cancelled",
            "timestamp": "2025-03-05T11:59:59Z",
            "data": {"appointmentId": "apt-legacy", "cancel": {"actionAt": action_at}},
        }
    )
    # Without cancel.actionAt every spelling falls back to updatedAt alike.
    bodies += [
        cancellation(s, f"apt-late-{i}", updatedAt=updated_at) for i, s in enumerate(spellings)
    ]
    ingest_deliveries(con, [(body, RECEIVED) for body in bodies])

    rows = stored(con, "appointment_id, event_type, occurred_at", "appointment_id")
    assert {event_type for _, event_type, _ in rows} == {"booking_cancelled"}
    times = {appointment_id: occurred_at for appointment_id, _, occurred_at in rows}
    assert times == {
        **{f"apt-{i}": ts("2025-03-05T11:00:00Z") for i in range(4)},
        "apt-legacy": ts("2025-03-05T11:00:00Z"),
        **{f"apt-late-{i}": ts(updated_at) for i in range(4)},
    }
    sent = stored(con, "event_type_as_sent", "event_type_as_sent")
    assert sorted(s for (s,) in sent) == sorted([*spellings, "booking.cancelled", *spellings])

    build_core(con)
    cancelled = con.execute(
        "SELECT count(*), min(cancelled_at), max(cancelled_at) FROM core.booking_events "
        "WHERE event_type = 'booking_cancelled' AND appointment_id NOT LIKE 'apt-late-%'"
    ).fetchone()
    assert cancelled == (5, ts("2025-03-05T11:00:00Z"), ts("2025-03-05T11:00:00Z"))


def test_unknown_types_are_kept_as_sent_and_counted(con: duckdb.DuckDBPyConnection) -> None:
    review_reminder = {"webhookType": "Review Reminder", "id": "r-1", "updatedAt": "2025-03-01"}
    mystery = {"event": "mystery.event", "data": {"id": "m-1"}}
    known = {"webhookType": "form_submission", "id": "f-1"}
    deliveries = [(review_reminder, RECEIVED), (review_reminder, RECEIVED), (mystery, RECEIVED)]
    result = ingest_deliveries(con, [*deliveries, (known, RECEIVED)])

    assert (result.new_events, result.duplicates, result.unknown_types) == (3, 1, 3)
    rows = stored(
        con,
        "event_type, event_type_as_sent, payload_format, appointment_id, delivery_count, "
        "occurred_at",
        "event_type",
    )
    assert rows == [
        ("form_submission", "form_submission", "flat", None, 1, RECEIVED),
        ("mystery_event", "mystery.event", "legacy", None, 1, RECEIVED),
        ("review_reminder", "Review Reminder", "flat", None, 2, ts("2025-03-01T00:00:00Z")),
    ]
    build_core(con)
    assert con.execute("SELECT count(*) FROM core.booking_events").fetchone() == (0,)


def test_new_employee_gets_the_user_id_wherever_the_body_carries_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    created = "2025-03-19T08:00:00Z"
    bodies = [
        {"webhookType": "new_employee", "id": "u-flat", "email": "a@example.com"},
        {"event": "new_employee", "timestamp": created, "data": {"userId": "u-legacy"}},
        {"webhookType": "new_employee", "data": {"user": {"id": "u-data-user"}}},
        {"webhookType": "new_employee", "data": {"employee": {"employeeId": "u-data-employee"}}},
        {"webhookType": "New Employee", "user": {"userId": "u-user", "createdAt": created}},
        {"webhookType": "new_employee", "employee": {"id": "u-employee"}, "createdAt": "x"},
        {"webhookType": "new_employee", "data": {"user": "not an object", "userId": "u-data"}},
    ]
    ingest_deliveries(con, [(body, RECEIVED) for body in bodies])

    rows = stored(con, "user_id, entity_path, occurred_at, appointment_id", "user_id")
    assert rows == [
        ("u-data", "$.data", RECEIVED, None),
        ("u-data-employee", "$.data.employee", RECEIVED, None),
        ("u-data-user", "$.data.user", RECEIVED, None),
        ("u-employee", "$.employee", RECEIVED, None),
        ("u-flat", "$", RECEIVED, None),
        ("u-legacy", "$.data", ts(created), None),
        ("u-user", "$.user", ts(created), None),
    ]
    build_core(con)
    users = con.execute("SELECT user_id, source FROM core.users ORDER BY 1").fetchall()
    assert users == [(user_id, "webhook") for user_id, *_ in rows]


def simulator_event(webhook_type: str, payload: dict[str, Any], at: str) -> TenantEvent:
    return TenantEvent(webhook_type, {"webhookType": webhook_type, **payload}, ts(at).timestamp())


def test_legacy_and_flat_bodies_of_one_change_give_the_same_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    appointment = appointment_payload(
        "apt-1",
        "2025-03-22T10:00:00+01:00",
        "2025-03-22T11:00:00+01:00",
        "2025-03-20T10:00:00Z",
        updated_at="2025-03-20T10:05:00Z",
        cancelled_at="2025-03-21T09:00:00Z",
        rescheduled_at="2025-03-20T10:30:00Z",
    )
    user = {"id": "user-9", "email": "n@example.com", "createdAt": "2025-03-19T08:00:00.000Z"}
    events = [
        simulator_event("booking_created", appointment, "2025-03-20T10:00:00Z"),
        simulator_event("booking_rescheduled", appointment, "2025-03-20T10:30:00Z"),
        simulator_event("booking_cancelled", appointment, "2025-03-21T09:00:00Z"),
        simulator_event("new_employee", user, "2025-03-19T08:00:00Z"),
    ]
    for index, event in enumerate(events):
        at = RECEIVED + timedelta(minutes=index)
        ingest_deliveries(con, [(event.payload, at), (legacy_envelope(event), at)])

    columns = "event_type, appointment_id, user_id, occurred_at, received_at"
    rows = stored(con, f"payload_format, {columns}", "received_at, payload_format")
    flat = [row[1:] for row in rows if row[0] == "flat"]
    legacy = [row[1:] for row in rows if row[0] == "legacy"]
    assert flat == legacy
    assert [row[3] for row in flat] == [
        ts("2025-03-20T10:00:00Z"),
        ts("2025-03-20T10:30:00Z"),
        ts("2025-03-21T09:00:00Z"),
        ts("2025-03-19T08:00:00Z"),
    ]
    assert [(row[1], row[2]) for row in flat] == [("apt-1", None)] * 3 + [(None, "user-9")]

    build_core(con)
    described = con.execute(
        "SELECT payload_format, * EXCLUDE (payload_format, event_key) FROM core.booking_events "
        "ORDER BY ALL"
    ).fetchall()
    assert [row[1:] for row in described if row[0] == "flat"] == [
        row[1:] for row in described if row[0] == "legacy"
    ]
    assert len(described) == 6


def test_bodies_are_stored_as_received_and_received_at_comes_from_the_log_line(
    con: duckdb.DuckDBPyConnection,
) -> None:
    body = {"webhookType": "review_published", "id": "r-1", "ünïcode": "✓"}
    ingest_body(con, body, "2025-03-20T13:00:00+01:00")
    assert stored(con, "CAST(body AS VARCHAR), received_at, occurred_at") == [
        (
            json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            ts("2025-03-20T12:00:00Z"),
            ts("2025-03-20T12:00:00Z"),
        )
    ]
