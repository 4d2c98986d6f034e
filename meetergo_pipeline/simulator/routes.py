"""Route handlers. Authentication, faults and rate limiting happen before, in `app.py`.

Handlers find the tenant at `request.app.tenant` and the acting user in the request scope.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meetergo_pipeline.simulator.errors import TenantError, json_response, validation_error
from meetergo_pipeline.simulator.events import WEBHOOK_EVENT_TYPES
from meetergo_pipeline.simulator.generate import DAY_S
from meetergo_pipeline.simulator.index import (
    SORT_BY_CREATED_AT,
    SORT_BY_START,
    AppointmentQuery,
)
from meetergo_pipeline.simulator.params import Checker

if TYPE_CHECKING:
    from meetergo_pipeline.simulator.tenant import Tenant

ACTING_USER_KEY = "meetergo.acting_user"
USER_TYPES = ("standard", "resource", "api-platform", "partner")
ATTENDEE_FIELDS = ("email", "firstname", "lastname", "phone", "timezone", "language")


def tenant_of(request: Request) -> Tenant:
    return request.app.tenant


def acting(request: Request) -> dict[str, Any]:
    return request.scope[ACTING_USER_KEY]


async def get_me(request: Request) -> Response:
    return json_response(acting(request))


async def list_users(request: Request) -> Response:
    if not acting(request)["isAdmin"]:
        raise TenantError(403, "Only company admins can list users")
    check = Checker()
    limit = check.integer(request.query_params, "limit", 1, 100, default=10)
    offset = check.integer(request.query_params, "offset", 0, default=0)
    user_type = check.one_of(request.query_params, "userType", USER_TYPES, None)
    if check.problems:
        raise validation_error(check.problems)
    tenant = tenant_of(request)
    with tenant.lock:
        users = [u for u in tenant.users_by_id.values() if user_type in (None, u["userType"])]
    page = users[offset : offset + limit]
    return json_response({"users": page, "total": len(users), "count": len(page), "offset": offset})


async def create_user(request: Request) -> Response:
    body = await _json_object(request)
    check = Checker()
    email = check.email(body, "email")
    given, family = check.string(body, "givenName"), check.string(body, "familyName")
    timezone = check.string(body, "timezone")
    user_type = check.one_of(body, "userType", USER_TYPES, "api-platform") or "api-platform"
    if check.problems:
        raise validation_error(check.problems)
    created = tenant_of(request).create_user(email, given, family, timezone, user_type)
    return json_response(created, 201)


async def list_meeting_types(request: Request) -> Response:
    tenant, user_id = tenant_of(request), acting(request)["id"]
    with tenant.lock:
        types = [m for m in tenant.meeting_types_by_id.values() if m["userId"] == user_id]
    return json_response(types)


async def list_appointments(request: Request) -> Response:
    params, tenant, user = request.query_params, tenant_of(request), acting(request)
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
    target_user_id = check.uuid(params, "userId")
    if check.problems:
        raise validation_error(check.problems)
    if target_user_id is not None and target_user_id != user["id"]:
        if not user["isAdmin"]:
            raise TenantError(403, "Only admins can read the appointments of other users")
        if target_user_id not in tenant.users_by_id:
            raise TenantError(404, "User not found")
    ids = tenant.query_appointments(target_user_id or user["id"], query)
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
    body = await _json_object(request, allow_empty=True)
    reason = body.get("reason", request.query_params.get("reason"))
    tenant = tenant_of(request)
    tenant.cancel_appointment(
        request.path_params["appointment_id"], reason=reason, action_by=acting(request)["id"]
    )
    return Response(
        tenant.appointment_json(request.path_params["appointment_id"]),
        media_type="application/json",
    )


async def reschedule_appointment(request: Request) -> Response:
    body = await _json_object(request)
    check = Checker()
    start = check.iso_date(body, "start", required=True)
    if check.problems or start is None:
        raise validation_error(check.problems)
    tenant, appointment_id = tenant_of(request), request.path_params["appointment_id"]
    tenant.reschedule_appointment(appointment_id, start)
    return Response(tenant.appointment_json(appointment_id), media_type="application/json")


async def create_booking(request: Request) -> Response:
    body = await _json_object(request)
    check = Checker()
    meeting_type_id = check.uuid(body, "meetingTypeId", required=True)
    start = check.iso_date(body, "start", required=True)
    host_ids = check.uuid_list(body, "hostIds")
    check.uuid(body, "queueId")
    attendee_in = check.mapping(body, "attendee")
    if attendee_in:
        check.email(attendee_in, "email", "attendee.email")
        check.string(attendee_in, "firstname", "attendee.firstname")
        check.string(attendee_in, "lastname", "attendee.lastname")
        check.boolean(attendee_in, "receiveReminders", "attendee.receiveReminders")
        check.mapping(attendee_in, "notes", "attendee.notes")
    if check.problems or meeting_type_id is None or start is None:
        raise validation_error(check.problems)
    attendee = {key: attendee_in.get(key) for key in ATTENDEE_FIELDS}
    attendee["fullname"] = f"{attendee['firstname']} {attendee['lastname']}"
    created = tenant_of(request).create_booking(meeting_type_id, start, host_ids, attendee)
    return json_response({"appointmentId": created["id"], "secret": created["secret"]}, 201)


async def list_calendar_connections(request: Request) -> Response:
    tenant = tenant_of(request)
    with tenant.lock:
        connections = list(tenant.connections.get(acting(request)["id"], []))
    return json_response({"connections": connections, "total": len(connections)})


async def list_webhooks(request: Request) -> Response:
    tenant = tenant_of(request)
    with tenant.lock:
        return json_response(list(tenant.webhooks.values()))


async def create_webhook(request: Request) -> Response:
    body = await _json_object(request)
    check = Checker()
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        check.problems.append("endpoint must be a URL address")
    event_types = body.get("eventTypes")
    if not isinstance(event_types, list) or not event_types:
        check.problems.append("eventTypes should not be empty")
    elif any(t not in WEBHOOK_EVENT_TYPES for t in event_types):
        check.problems.append(
            "each value in eventTypes must be one of the following values: "
            + ", ".join(WEBHOOK_EVENT_TYPES)
        )
    if check.problems:
        raise validation_error(check.problems)
    webhook = tenant_of(request).add_webhook(endpoint, event_types, body.get("description"))
    return json_response(webhook, 201)


async def delete_webhook(request: Request) -> Response:
    tenant, webhook_id = tenant_of(request), request.path_params["webhook_id"]
    with tenant.lock:
        webhook = tenant.webhooks.get(webhook_id)
        tenant.remove_webhook(webhook_id)
    return json_response(webhook)


ROUTES = [
    Route("/v4/user/me", get_me, methods=["GET"]),
    Route("/v4/user", list_users, methods=["GET"]),
    Route("/v4/user", create_user, methods=["POST"]),
    Route("/v4/meeting-type", list_meeting_types, methods=["GET"]),
    Route("/v4/appointment/paginated", list_appointments, methods=["GET"]),
    Route("/v4/appointment/today", appointments_today, methods=["GET"]),
    Route("/v4/appointment/{appointment_id}", get_appointment, methods=["GET"]),
    Route("/v4/appointment/{appointment_id}", cancel_appointment, methods=["DELETE"]),
    Route("/v4/appointment/{appointment_id}", reschedule_appointment, methods=["PATCH"]),
    Route("/v4/booking", create_booking, methods=["POST"]),
    Route("/v4/calendar-connections/connections", list_calendar_connections, methods=["GET"]),
    Route("/webhooks", list_webhooks, methods=["GET"]),
    Route("/webhooks", create_webhook, methods=["POST"]),
    Route("/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
]


async def _json_object(request: Request, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise TenantError(400, f"Unexpected token in JSON at position {_position(error)}") from None
    if not isinstance(body, dict):
        raise validation_error(["request body must be an object"])
    return body


def _position(error: ValueError) -> int:
    return getattr(error, "pos", 0)


def _mentions(appointment: dict[str, Any], needle: str) -> bool:
    return any(
        needle in (a.get("email") or "").lower() or needle in (a.get("fullname") or "").lower()
        for a in appointment["attendees"]
    )
