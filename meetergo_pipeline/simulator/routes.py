"""Route handlers. Authentication, faults and rate limiting happen before, in `app.py`.

Handlers find the tenant at `request.app.tenant` and the acting user in the request scope.
Company-level routes live here; appointments and bookings in `booking_routes`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meetergo_pipeline.simulator.booking_routes import BOOKING_ROUTES
from meetergo_pipeline.simulator.errors import TenantError, json_response, validation_error
from meetergo_pipeline.simulator.events import WEBHOOK_EVENT_TYPES
from meetergo_pipeline.simulator.params import Checker
from meetergo_pipeline.simulator.route_support import (
    ACTING_USER_KEY,
    acting,
    json_object,
    target_user_id,
    tenant_of,
)

__all__ = ["ACTING_USER_KEY", "ROUTES"]
USER_TYPES = ("standard", "resource", "api-platform", "partner")


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
    body = await json_object(request)
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
    """A bare array of the acting user's types (or, for an admin, those of `userId`)."""
    tenant = tenant_of(request)
    user_id = target_user_id(request, Checker(), request.query_params)
    with tenant.lock:
        types = [m for m in tenant.meeting_types_by_id.values() if m["userId"] == user_id]
    return json_response(types)


async def get_meeting_type(request: Request) -> Response:
    tenant = tenant_of(request)
    with tenant.lock:
        meeting_type = tenant.meeting_types_by_id.get(request.path_params["meeting_type_id"])
        if meeting_type is None:
            raise TenantError(404, "Meeting type not found")
        return json_response(meeting_type)


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
    body = await json_object(request)
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
    assert isinstance(endpoint, str) and isinstance(event_types, list)  # checked above
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
    Route("/v4/meeting-type/{meeting_type_id}", get_meeting_type, methods=["GET"]),
    *BOOKING_ROUTES,
    Route("/v4/calendar-connections/connections", list_calendar_connections, methods=["GET"]),
    Route("/webhooks", list_webhooks, methods=["GET"]),
    Route("/webhooks", create_webhook, methods=["POST"]),
    Route("/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
]
