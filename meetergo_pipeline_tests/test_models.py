"""Wire models against every payload shape in the API notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meetergo_pipeline.client.errors import MeetergoAuthError, error_for_status
from meetergo_pipeline.client.models import (
    Appointment,
    BookingCreated,
    MeetingType,
    User,
    UserCreated,
)
from meetergo_pipeline.client.retry import backoff_seconds, parse_retry_after

APPOINTMENT = {
    "id": "a-1",
    "secret": "s",
    "start": "2025-01-15T10:00:00+01:00",
    "end": "2025-01-15T09:30:00Z",
    "meetingTypeId": "mt-1",
    "meetingType": {
        "id": "mt-1",
        "slug": "intro",
        "meetingInfo": {"name": "Intro", "duration": 30},
    },
    "meetingInfo": {"channel": "zoom", "meetingLink": "https://zoom.example/1"},
    "hostingInfo": {"mainHost": None},
    "hosts": [{"id": "u-2", "email": "h@example.com", "fullName": "Hö St"}],
    "hostIds": ["u-2", "u-3"],
    "attendees": [{"id": "x", "email": "j@example.com", "firstname": "José", "lastname": "王"}],
    "createdAt": "2025-01-01T08:00:00.000Z",
    "updatedAt": "2025-01-02T08:00:00.000Z",
    "cancel": {"actionSource": "attendee", "actionAt": "2025-01-02T09:00:00+02:00"},
    "isCancelled": False,
    "rescheduledAt": None,
    "rescheduleCount": 0,
    "customFields": {"plan": "pro"},
}


def test_appointment_normalises_times_and_keeps_unknown_fields() -> None:
    appointment = Appointment.model_validate(APPOINTMENT)
    assert appointment.start == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert appointment.start.tzinfo == UTC
    assert appointment.cancel is not None
    assert appointment.cancel.action_at == datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
    assert appointment.status == "cancelled"  # cancel.actionAt set although isCancelled is false
    assert appointment.host_user_id == "u-2"  # no mainHost: falls back to hostIds[0]
    assert appointment.attendees[0].firstname == "José"
    assert appointment.model_extra is not None
    assert appointment.model_extra["customFields"] == {"plan": "pro"}
    assert appointment.model_dump(by_alias=True)["customFields"] == {"plan": "pro"}


def test_confirmed_appointment_with_main_host() -> None:
    payload = {**APPOINTMENT, "cancel": None, "hostingInfo": {"mainHost": "u-3"}}
    appointment = Appointment.model_validate(payload)
    assert appointment.status == "confirmed"
    assert appointment.host_user_id == "u-3"


def test_user_meeting_type_and_creation_responses() -> None:
    user = User.model_validate(
        {
            "id": "u-1",
            "givenName": "Ana",
            "familyName": "Ćosić",
            "fullName": "Ana Ćosić",
            "email": "a@example.com",
            "userType": "api-platform",
            "isAdmin": True,
            "createdAt": "2024-05-01T12:00:00-05:00",
            "personalPage": {"slug": "ana"},
        }
    )
    assert user.user_type == "api-platform" and user.is_admin
    assert user.created_at == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)
    assert user.model_extra == {"personalPage": {"slug": "ana"}}
    meeting_type = MeetingType.model_validate(
        {
            "id": "mt",
            "userId": "u-1",
            "spots": 5,
            "queueId": None,
            "meetingInfo": {"name": "Group", "duration": 45, "channel": "teams", "bufferBefore": 5},
        }
    )
    assert meeting_type.meeting_info is not None
    assert meeting_type.meeting_info.duration == 45
    assert meeting_type.meeting_info.model_extra == {"bufferBefore": 5}
    created = UserCreated.model_validate(
        {
            "userId": "u",
            "availabilityId": "av",
            "meetingTypeId": "mt",
            "bookingUrl": "https://x",
            "companyId": "c",
        }
    )
    assert created.user_id == "u"
    pending = BookingCreated.model_validate(
        {"bookingType": "doubleOptIn", "provisionalBookingId": "p-1"}
    )
    assert pending.appointment_id is None and pending.provisional_booking_id == "p-1"


@pytest.mark.parametrize(
    ("status", "body", "message", "code"),
    [
        (
            400,
            {"statusCode": 400, "message": ["email must be an email"], "error": "Bad Request"},
            ["email must be an email"],
            None,
        ),
        (
            400,
            {
                "statusCode": 400,
                "message": "Validation failed",
                "errors": [{"field": "email", "message": "Invalid email format"}],
            },
            "Validation failed",
            None,
        ),
        (
            400,
            {"statusCode": 400, "errorCode": "slot-occupied", "message": "Slot taken"},
            "Slot taken",
            "slot-occupied",
        ),
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "non-JSON error body: <html><body><h1>502 Bad Gateway</h1></body></html>",
            None,
        ),
        (500, "", "HTTP 500 with an empty body", None),
    ],
)
def test_error_bodies(status, body, message, code) -> None:
    error = error_for_status(status, body, method="GET", path="/v4/user")
    assert error.status_code == status
    assert error.message == message
    assert error.code == code
    if isinstance(body, dict) and "errors" in body:
        assert error.errors == [{"field": "email", "message": "Invalid email format"}]


def test_auth_error_type() -> None:
    error = error_for_status(
        401, {"statusCode": 401, "message": "API key has expired"}, method="GET", path="/v4/user/me"
    )
    assert isinstance(error, MeetergoAuthError)
    assert str(error) == "GET /v4/user/me failed with 401: API key has expired"


def test_retry_after_parsing_and_backoff() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:30 GMT", now=now) == 90
    assert parse_retry_after("0") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("soon") is None
    waits = [backoff_seconds(attempt) for attempt in (1, 2, 3, 4)]
    assert all(wait >= 1 for wait in waits)
    assert waits == sorted(waits)
    assert backoff_seconds(30) <= 60
