"""Routes of appointments, bookings, availability and pending (provisional) bookings.

Live shapes: cancel and reschedule are `POST /v4/appointment/{id}/cancel|reschedule` (the
`DELETE`/`PATCH /v4/appointment/{id}` of the older overview page do not exist and answer
Nest's 404). A cancel answers the appointment; a reschedule answers `{appointment}`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meetergo_pipeline.simulator.appointments import DAY_S
from meetergo_pipeline.simulator.availability import booking_availability
from meetergo_pipeline.simulator.errors import TenantError, json_response, validation_error
from meetergo_pipeline.simulator.index import SORT_BY_CREATED_AT, SORT_BY_START, AppointmentQuery
from meetergo_pipeline.simulator.params import Checker
from meetergo_pipeline.simulator.route_support import (
    acting,
    json_object,
    target_user_id,
    tenant_of,
)

ATTENDEE_FIELDS = ("email", "firstname", "lastname", "phone", "timezone", "language")
NOTES_ANSWER_KEY = "notes"  # attendee.notes[NOTES_ANSWER_KEY] becomes the appointment's notes


async def list_appointments(request: Request) -> Response:
    params, tenant = request.query_params, tenant_of(request)
    check = Checker()
    page = check.integer(params, "page", 0)
    page_size = check.integer(params, "pageSize", 1, 100)
    sort_by = check.one_of(params, "sortBy", (SORT_BY_START, SORT_BY_CREATED_AT), SORT_BY_START)
    direction = check.one_of(params, "sortDirection", ("ASC", "DESC"), "ASC")
    query = AppointmentQuery(
        start_from=check.iso_date(params, "start"),
        start_to=check.iso_date(params, "end"),
        meeting_type_id=check.uuid(params, "meetingTypeId"),
        sort_by=sort_by or SORT_BY_START,
        descending=direction == "DESC",
    )
    ids = tenant.query_appointments(target_user_id(request, check, params), query)
    search = (params.get("search") or "").strip().lower()
    if search:
        ids = [i for i in ids if _mentions(tenant.appointments[i], search)]
    items = tenant.appointments_json(ids[page * page_size : (page + 1) * page_size])
    body = b'{"appointments":' + items + b',"total":' + str(len(ids)).encode() + b"}"
    return Response(body, media_type="application/json")


async def appointments_today(request: Request) -> Response:
    tenant = tenant_of(request)
    day_start = tenant.now() // DAY_S * DAY_S
    day_end = day_start + DAY_S - 0.001
    ids = tenant.appointments_starting_between(acting(request)["id"], day_start, day_end)
    return Response(tenant.appointments_json(ids), media_type="application/json")


async def get_appointment(request: Request) -> Response:
    tenant, appointment_id = tenant_of(request), request.path_params["appointment_id"]
    if appointment_id not in tenant.appointments:
        raise TenantError(404, "Appointment not found")
    return Response(tenant.appointment_json(appointment_id), media_type="application/json")


async def cancel_appointment(request: Request) -> Response:
    """Body `{reason?, attendeeId?, cancelAll?}`: one attendee off, or the whole appointment."""
    body = await json_object(request, allow_empty=True)
    check = Checker()
    reason = check.optional_string(body, "reason")
    attendee_id = check.optional_string(body, "attendeeId")
    if check.problems:
        raise validation_error(check.problems)
    tenant, appointment_id = tenant_of(request), request.path_params["appointment_id"]
    if attendee_id is not None and body.get("cancelAll") is not True:
        tenant.remove_attendee(appointment_id, attendee_id)
    else:
        tenant.cancel_appointment(appointment_id, reason=reason, action_by=acting(request)["id"])
    return Response(tenant.appointment_json(appointment_id), media_type="application/json")


async def reschedule_appointment(request: Request) -> Response:
    """Body `{start, ignoreAvailability?}`; the duration stays."""
    body = await json_object(request)
    check = Checker()
    start = check.iso_date(body, "start", required=True)
    if check.problems or start is None:
        raise validation_error(check.problems)
    tenant, appointment_id = tenant_of(request), request.path_params["appointment_id"]
    ignore = body.get("ignoreAvailability") is True
    tenant.reschedule_appointment(appointment_id, start, check_slot=not ignore)
    item = tenant.appointment_json(appointment_id)
    return Response(b'{"appointment":' + item + b"}", media_type="application/json")


async def create_booking(request: Request) -> Response:
    """201 `{appointmentId, secret}`, or `{bookingType, provisionalBookingId}` for a meeting
    type that needs double opt-in or the host's confirmation. Names are optional."""
    body = await json_object(request)
    check = Checker()
    meeting_type_id = check.uuid(body, "meetingTypeId", required=True)
    start = check.iso_date(body, "start", required=True)
    host_ids = check.uuid_list(body, "hostIds")
    check.uuid(body, "queueId")
    attendee_in = check.mapping(body, "attendee")
    if attendee_in:
        check.email(attendee_in, "email", "attendee.email")
        for name in ("firstname", "lastname", "fullname"):
            check.optional_string(attendee_in, name, f"attendee.{name}")
        check.boolean(attendee_in, "receiveReminders", "attendee.receiveReminders")
        check.mapping(attendee_in, "notes", "attendee.notes")
    if check.problems or meeting_type_id is None or start is None:
        raise validation_error(check.problems)
    attendee = {key: attendee_in.get(key) for key in ATTENDEE_FIELDS}
    full = " ".join(n for n in (attendee["firstname"], attendee["lastname"]) if n)
    attendee["fullname"] = attendee_in.get("fullname") or full
    tenant = tenant_of(request)
    with tenant.lock:
        meeting_type = tenant.meeting_types_by_id.get(meeting_type_id)
        options = meeting_type["meetingOptions"] if meeting_type else {}
    if options.get("doubleOptIn") or options.get("requireHostConfirmation"):
        pending = tenant.create_provisional_booking(meeting_type_id, start, host_ids, attendee)
        reply = {"bookingType": pending["bookingType"], "provisionalBookingId": pending["id"]}
        return json_response(reply, 201)
    answer = attendee_in["notes"].get(NOTES_ANSWER_KEY)
    notes = answer if isinstance(answer, str) else None
    created = tenant.create_booking(meeting_type_id, start, host_ids, attendee, notes=notes)
    return json_response({"appointmentId": created["id"], "secret": created["secret"]}, 201)


async def get_booking_availability(request: Request) -> Response:
    params = request.query_params
    check = Checker()
    meeting_type_id = check.uuid(params, "meetingTypeId", required=True)
    start = check.iso_date(params, "start", required=True)
    end = check.iso_date(params, "end", required=True)
    listed = params.getlist("hostIds") + params.getlist("hostIds[]")
    host_ids = [h.strip() for value in listed for h in value.split(",") if h.strip()]
    check.uuid_list({"hostIds": host_ids}, "hostIds")
    queue_id = check.uuid(params, "queueId")
    if check.problems or meeting_type_id is None or start is None or end is None:
        raise validation_error(check.problems)
    if not host_ids and queue_id is None:
        raise TenantError(400, "Expected hostIds or queueId")
    answer = booking_availability(
        tenant_of(request), meeting_type_id, start, end, host_ids or None, params.get("timezone")
    )
    return json_response(answer)


async def list_provisional_bookings(request: Request) -> Response:
    """`{provisionalBookings, total}`, paged like the appointments (0-based page)."""
    params = request.query_params
    check = Checker()
    page = check.integer(params, "page", 0)
    page_size = check.integer(params, "pageSize", 1, 100)
    user_id = target_user_id(request, check, params)
    pending = tenant_of(request).provisional_bookings_for_user(user_id)
    items = pending[page * page_size : (page + 1) * page_size]
    return json_response({"provisionalBookings": items, "total": len(pending)})


BOOKING_ROUTES = [
    Route("/v4/appointment/paginated", list_appointments, methods=["GET"]),
    Route("/v4/appointment/today", appointments_today, methods=["GET"]),
    Route("/v4/appointment/{appointment_id}", get_appointment, methods=["GET"]),
    Route("/v4/appointment/{appointment_id}/cancel", cancel_appointment, methods=["POST"]),
    Route("/v4/appointment/{appointment_id}/reschedule", reschedule_appointment, methods=["POST"]),
    Route("/v4/booking", create_booking, methods=["POST"]),
    Route("/v4/booking-availability", get_booking_availability, methods=["GET"]),
    Route("/v4/provisional-booking/paginated", list_provisional_bookings, methods=["GET"]),
]


def _mentions(appointment: dict[str, Any], needle: str) -> bool:
    return any(
        needle in (a.get("email") or "").lower() or needle in (a.get("fullname") or "").lower()
        for a in appointment["attendees"]
    )
