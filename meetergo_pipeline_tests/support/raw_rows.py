"""Raw-layer rows built the way the loaders store them, for tests of the SQL layers.

Each row carries the API's JSON payload with its live field names beside the typed keys, as
`raw.*` holds them after a sync or a webhook ingest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from meetergo_pipeline.warehouse.connection import ensure_raw_schema
from meetergo_pipeline_tests.support.webhooks import ingest_body

READ_AT = "2025-03-20T06:00:00Z"


def ts(text: str) -> datetime:
    """An aware UTC datetime from ISO text (for exact comparisons)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def open_raw_db(path: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB file at `path` with the raw schema, as the writer's connection sets it up."""
    con = duckdb.connect(str(path))
    ensure_raw_schema(con)
    return con


def user_payload(
    user_id: str,
    email: str,
    user_type: str = "standard",
    given_name: str = "Ada",
    family_name: str = "Lovelace",
    **extra: Any,
) -> dict[str, Any]:
    payload = {
        "id": user_id,
        "givenName": given_name,
        "familyName": family_name,
        "fullName": f"{given_name} {family_name}",
        "email": email,
        "timezone": "Europe/Berlin",
        "language": "de",
        "userType": user_type,
        "isAdmin": False,
        "companyId": "company-1",
        "slug": email.split("@")[0],
        "createdAt": "2025-01-02T08:00:00.000Z",
        "updatedAt": "2025-01-02T08:00:00.000Z",
        "deletedAt": None,
    }
    payload.update(extra)
    return payload


def add_user(con: duckdb.DuckDBPyConnection, payload: dict[str, Any]) -> None:
    con.execute(
        "INSERT INTO raw.users (user_id, payload, source_updated_at, first_seen_at, "
        "last_seen_at, deleted_at) VALUES ($id, $payload, $updated, $read, $read, NULL)",
        {
            "id": payload["id"],
            "payload": json.dumps(payload),
            "updated": payload.get("updatedAt"),
            "read": READ_AT,
        },
    )


def add_meeting_type(
    con: duckdb.DuckDBPyConnection,
    meeting_type_id: str,
    user_id: str,
    name: str = "Intro call",
    duration: int = 30,
    channel: str = "zoom",
    metadata: dict[str, Any] | None = None,
) -> None:
    """A meeting type as GET /v4/meeting-type lists it; `metadata` only when given."""
    payload: dict[str, Any] = {
        "id": meeting_type_id,
        "slug": name.lower().replace(" ", "-"),
        "userId": user_id,
        "queueId": None,
        "spots": 1,
        "enabled": True,
        "companyId": "company-1",
        "createdAt": "2025-01-03T09:00:00.000Z",
        "meetingInfo": {"name": name, "duration": duration, "channel": channel},
        "meetingOptions": {"doubleOptIn": False},
    }
    if metadata is not None:
        payload["metadata"] = metadata
    con.execute(
        "INSERT INTO raw.meeting_types (meeting_type_id, user_id, payload, source_updated_at, "
        "first_seen_at, last_seen_at, deleted_at) "
        "VALUES ($id, $user, $payload, NULL, $read, $read, NULL)",
        {"id": meeting_type_id, "user": user_id, "payload": json.dumps(payload), "read": READ_AT},
    )


def appointment_payload(
    appointment_id: str,
    start: str,
    end: str,
    created_at: str,
    updated_at: str | None = None,
    host: str | None = "user-1",
    host_ids: list[str] | None = None,
    meeting_type_id: str = "mt-1",
    cancelled_at: str | None = None,
    is_cancelled: bool | None = None,
    rescheduled_at: str | None = None,
    reschedule_count: int = 0,
    channel: str = "zoom",
    cancel_source: str | None = "attendee",
    notes: str | None = None,
    meeting_type_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An appointment as GET /v4/appointment/paginated sends it.

    `cancel_source` is the cancel.actionSource sent with a cancellation (None: left out).
    """
    hosts = host_ids if host_ids is not None else ([host] if host else [])
    cancel: dict[str, Any] | None = None
    if cancelled_at:
        cancel = {"actionAt": cancelled_at, "actionBy": "x", "reason": ""}
        if cancel_source is not None:
            cancel["actionSource"] = cancel_source
    return {
        "id": appointment_id,
        "secret": f"secret-{appointment_id}",
        "start": start,
        "end": end,
        "meetingTypeId": meeting_type_id,
        "meetingType": {
            "id": meeting_type_id,
            "slug": "intro-call",
            "meetingInfo": {},
            "metadata": meeting_type_metadata if meeting_type_metadata is not None else {},
        },
        "meetingInfo": {"channel": channel, "meetingLink": "https://zoom.example/j/1"},
        "hostingInfo": {"mainHost": host} if host else {},
        "hosts": [{"id": h, "email": f"{h}@example.com"} for h in hosts],
        "hostIds": hosts,
        "attendees": [
            {"id": "att-1", "email": "jane@example.com", "firstname": "Jane", "lastname": "Doe"}
        ],
        "companyId": "company-1",
        "notes": notes,
        "createdAt": created_at,
        "updatedAt": updated_at or created_at,
        "cancel": cancel,
        "isCancelled": bool(cancelled_at) if is_cancelled is None else is_cancelled,
        "rescheduledAt": rescheduled_at,
        "rescheduleCount": reschedule_count,
    }


def add_appointment(
    con: duckdb.DuckDBPyConnection,
    payload: dict[str, Any],
    read_at: str = READ_AT,
    deleted_at: str | None = None,
    first_start: str | None = None,
    first_read_at: str | None = None,
) -> None:
    """Store `payload` as the latest API read; `first_start` / `first_read_at`: what an
    earlier read showed and when (default: this read)."""
    con.execute(
        "INSERT INTO raw.appointments (appointment_id, created_at, start_at, payload, "
        "source_updated_at, first_seen_at, last_seen_at, deleted_at, first_start_at, fields) "
        "VALUES ($id, $created, $start, $payload, $updated, $first_read, $read, $deleted, "
        "$first_start, appointment_fields($payload))",
        {
            "id": payload["id"],
            "created": payload["createdAt"],
            "start": payload["start"],
            "payload": json.dumps(payload),
            "updated": payload["updatedAt"],
            "first_read": first_read_at or read_at,
            "read": read_at,
            "deleted": deleted_at,
            "first_start": first_start or payload["start"],
        },
    )


def add_host(
    con: duckdb.DuckDBPyConnection, user_id: str, name: str, zone: str | None = "Europe/Berlin"
) -> None:
    """A standard user named "Given Family", e-mail `<user_id>@example.com`, time zone `zone`."""
    given, family = name.split(" ")
    add_user(
        con,
        user_payload(
            user_id, f"{user_id}@example.com", given_name=given, family_name=family, timezone=zone
        ),
    )


def add_booking_at(
    con: duckdb.DuckDBPyConnection,
    appointment_id: str,
    created_at: str,
    start: str,
    host: str | None = "u-1",
    minutes: int = 30,
    **kwargs: Any,
) -> dict[str, Any]:
    """An appointment the API listed, `minutes` long; other keywords go to
    `appointment_payload`, except `first_start` / `first_read_at` (an earlier first read)."""
    first = {key: kwargs.pop(key) for key in ("first_start", "first_read_at") if key in kwargs}
    end = datetime.fromtimestamp(ts(start).timestamp() + minutes * 60, UTC).isoformat()
    payload = appointment_payload(appointment_id, start, end, created_at, host=host, **kwargs)
    add_appointment(con, payload, **first)
    return payload


def flat_event(webhook_type: str, appointment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A live webhook body: webhookType plus the appointment's fields at the top level."""
    return {"webhookType": webhook_type, **appointment, **changes}


def add_event(con: duckdb.DuckDBPyConnection, body: dict[str, Any], received_at: str) -> None:
    """Deliver one webhook body through the real ingest (receiver log line, then ingest)."""
    ingest_body(con, body, received_at)


def table_snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
