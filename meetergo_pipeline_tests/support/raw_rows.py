"""Raw-layer rows built the way the loaders store them, for tests of the SQL layers.

Each row carries the API's JSON payload with its live field names beside the typed keys, as
`raw.*` holds them after a sync or a webhook ingest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from meetergo_pipeline_tests.support.webhooks import ingest_body

READ_AT = "2025-03-20T06:00:00Z"


def ts(text: str) -> datetime:
    """An aware UTC datetime from ISO text (for exact comparisons)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def open_raw_db(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    schema_sql = resources.files("meetergo_pipeline.sql").joinpath("raw", "schema.sql")
    con.execute(schema_sql.read_text())
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
        "INSERT INTO raw.users VALUES ($id, $payload, $updated, $read, $read, NULL)",
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
) -> None:
    payload = {
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
    con.execute(
        "INSERT INTO raw.meeting_types VALUES ($id, $user, $payload, NULL, $read, $read, NULL)",
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
) -> dict[str, Any]:
    """An appointment as GET /v4/appointment/paginated sends it."""
    hosts = host_ids if host_ids is not None else ([host] if host else [])
    return {
        "id": appointment_id,
        "secret": f"secret-{appointment_id}",
        "start": start,
        "end": end,
        "meetingTypeId": meeting_type_id,
        "meetingType": {"id": meeting_type_id, "slug": "intro-call", "meetingInfo": {}},
        "meetingInfo": {"channel": channel, "meetingLink": "https://zoom.example/j/1"},
        "hostingInfo": {"mainHost": host} if host else {},
        "hosts": [{"id": h, "email": f"{h}@example.com"} for h in hosts],
        "hostIds": hosts,
        "attendees": [
            {"id": "att-1", "email": "jane@example.com", "firstname": "Jane", "lastname": "Doe"}
        ],
        "companyId": "company-1",
        "createdAt": created_at,
        "updatedAt": updated_at or created_at,
        "cancel": (
            {"actionSource": "attendee", "actionAt": cancelled_at, "actionBy": "x", "reason": ""}
            if cancelled_at
            else None
        ),
        "isCancelled": bool(cancelled_at) if is_cancelled is None else is_cancelled,
        "rescheduledAt": rescheduled_at,
        "rescheduleCount": reschedule_count,
    }


def add_appointment(
    con: duckdb.DuckDBPyConnection,
    payload: dict[str, Any],
    read_at: str = READ_AT,
    deleted_at: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO raw.appointments VALUES "
        "($id, $created, $start, $payload, $updated, $read, $read, $deleted)",
        {
            "id": payload["id"],
            "created": payload["createdAt"],
            "start": payload["start"],
            "payload": json.dumps(payload),
            "updated": payload["updatedAt"],
            "read": read_at,
            "deleted": deleted_at,
        },
    )


def flat_event(webhook_type: str, appointment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A live webhook body: webhookType plus the appointment's fields at the top level."""
    return {"webhookType": webhook_type, **appointment, **changes}


def add_event(con: duckdb.DuckDBPyConnection, body: dict[str, Any], received_at: str) -> None:
    """Deliver one webhook body through the real ingest (receiver log line, then ingest)."""
    ingest_body(con, body, received_at)


def table_snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
