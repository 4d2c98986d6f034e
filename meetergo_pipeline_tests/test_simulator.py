"""The meetergo API simulator, exercised over real HTTP on loopback (no mocks)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer, Tenant, is_cancelled
from meetergo_pipeline.simulator.cli import add_simulate_parser
from meetergo_pipeline.simulator.isotime import parse_iso
from meetergo_pipeline.simulator.process import simulator_process

ANCHOR = "2025-06-01T12:00:00Z"
PAGINATED = "/v4/appointment/paginated"
PAGE_ZERO = {"page": 0, "pageSize": 100}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """A read-only tenant shared by the tests that do not change it."""
    config = SimulatorConfig(
        seed=42, users=12, appointments=1500, rate_limit_enabled=False, anchor=ANCHOR
    )
    with SimulatorServer(config) as server:
        yield server


def fresh(**overrides: Any) -> SimulatorServer:
    settings: dict[str, Any] = {
        "seed": 7,
        "users": 8,
        "appointments": 300,
        "rate_limit_enabled": False,
        "duplicate_rate": 0.0,
        "reorder_rate": 0.0,
        **overrides,
    }
    return SimulatorServer(SimulatorConfig(**settings))


def call(
    sim: SimulatorServer, path: str, user: str | None = None, method: str = "GET", **kwargs: Any
) -> httpx.Response:
    return httpx.request(method, sim.base_url + path, headers=sim.headers(user), **kwargs)


def page_all(sim: SimulatorServer, user: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in range(10_000):
        body = call(sim, PAGINATED, user, params={"page": page, "pageSize": 100, **params}).json()
        found += body["appointments"]
        if len(body["appointments"]) < 100:
            assert len(found) == body["total"]
            return found
    raise AssertionError("paging never ended")


class WebhookReceiver:
    """A tiny Starlette app under uvicorn collecting delivered JSON bodies."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status

        async def collect(request: Request) -> Response:
            self.bodies.append(json.loads(await request.body()))
            return Response(status_code=self.status)

        app = Starlette(routes=[Route("/hook/{token}", collect, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook/s3cret-token"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def of_type(self, webhook_type: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b.get("webhookType") == webhook_type]


# ---- auth --------------------------------------------------------------------------------


def test_auth_errors_use_the_live_bodies(sim: SimulatorServer) -> None:
    url = sim.base_url + "/v4/meeting-type"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json() == {
        "statusCode": 401,
        "message": "Missing authorization header",
        "error": "Unauthorized",
    }
    bad = httpx.get(url, headers={"Authorization": "Bearer ak_live:nope:nope"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Invalid API key")
    expired = httpx.get(url, headers={"Authorization": f"Bearer {sim.expired_api_key}"})
    assert (expired.status_code, expired.json()["message"]) == (401, "API key has expired")
    no_user = httpx.get(url, headers={"Authorization": f"Bearer {sim.api_key}"})
    assert no_user.status_code == 400
    assert no_user.json() == {
        "statusCode": 400,
        "message": "Missing required header 'x-meetergo-api-user-id' for API key authentication",
        "error": "Bad Request",
    }
    outsider = call(sim, "/v4/meeting-type", "00000000-0000-4000-8000-000000000000")
    assert outsider.status_code == 403


def test_me_defaults_to_owner_and_personal_token_acts_only_as_itself(sim: SimulatorServer) -> None:
    me = httpx.get(sim.base_url + "/v4/user/me", headers={"Authorization": f"Bearer {sim.api_key}"})
    assert me.json()["id"] == sim.admin_user_id and me.json()["isAdmin"] is True
    assert sim.personal_token.startswith("rgo-") and len(sim.personal_token) == 36
    pat = {"Authorization": f"Bearer {sim.personal_token}"}
    own = httpx.get(sim.base_url + "/v4/user/me", headers=pat).json()
    assert own["id"] == sim.tenant.personal_token_user_id and own["isAdmin"] is False
    other = httpx.get(
        sim.base_url + "/v4/meeting-type",
        headers={**pat, "x-meetergo-api-user-id": sim.admin_user_id},
    )
    assert other.status_code == 403 and other.json()["error"] == "Forbidden"
    assert httpx.get(sim.base_url + "/v4/user", headers=pat).status_code == 403
    named = {"userId": sim.admin_user_id}
    refused = httpx.get(sim.base_url + "/v4/meeting-type", headers=pat, params=named)
    assert refused.status_code == 403  # not an admin: cannot name another user


def test_an_admins_personal_token_reads_other_users_through_user_id(sim: SimulatorServer) -> None:
    pat = {"Authorization": f"Bearer {sim.admin_personal_token}"}
    assert sim.admin_personal_token.startswith("rgo-") and len(sim.admin_personal_token) == 36
    assert httpx.get(sim.base_url + "/v4/user/me", headers=pat).json()["id"] == sim.admin_user_id
    other = sim.tenant.personal_token_user_id
    url = sim.base_url + "/v4/meeting-type"
    own = httpx.get(url, headers=pat).json()
    theirs = httpx.get(url, headers=pat, params={"userId": other}).json()
    assert {t["userId"] for t in own} == {sim.admin_user_id}
    assert {t["userId"] for t in theirs} == {other}
    assert theirs == call(sim, "/v4/meeting-type", other).json()  # as an API key sees them
    # The header cannot switch users for a token, even to the admin's own colleague.
    switched = httpx.get(url, headers={**pat, "x-meetergo-api-user-id": other})
    assert switched.status_code == 403
    self_named = httpx.get(url, headers={**pat, "x-meetergo-api-user-id": sim.admin_user_id})
    assert self_named.json() == own
    listed = httpx.get(
        sim.base_url + PAGINATED, headers=pat, params={"page": 0, "pageSize": 5, "userId": other}
    ).json()
    assert listed["total"] == len(sim.tenant.appointment_ids_for_user(other))
    missing = httpx.get(url, headers=pat, params={"userId": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 404


# ---- list shapes ----------------------------------------------------------------------------


def test_users_page_by_limit_and_offset(sim: SimulatorServer) -> None:
    first = call(sim, "/v4/user", params={"limit": 5, "offset": 0}).json()
    second = call(sim, "/v4/user", params={"limit": 5, "offset": 10}).json()
    assert (first["total"], first["count"], first["offset"], len(first["users"])) == (12, 5, 0, 5)
    assert (second["count"], second["offset"]) == (2, 10)
    every = call(sim, "/v4/user", params={"limit": 100}).json()["users"]
    assert {u["userType"] for u in every} == {"standard", "resource", "api-platform", "partner"}
    assert sum(u["userType"] == "api-platform" for u in every) >= 3
    assert [u["id"] for u in every if u["isAdmin"]] == [sim.admin_user_id]
    platform = call(sim, "/v4/user", params={"userType": "api-platform", "limit": 100}).json()
    assert platform["total"] == sum(u["userType"] == "api-platform" for u in every)
    invalid = call(sim, "/v4/user", params={"limit": 101, "offset": -1})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "statusCode": 400,
        "message": ["limit must not be greater than 100", "offset must not be less than 0"],
        "error": "Bad Request",
    }


def test_meeting_types_are_a_bare_array_of_the_acting_users(sim: SimulatorServer) -> None:
    user_id = sim.tenant.users[0]["id"]
    types = call(sim, "/v4/meeting-type", user_id).json()
    assert isinstance(types, list) and 2 <= len(types) <= 5
    assert {t["userId"] for t in types} == {user_id}
    assert {"id", "slug", "queueId", "spots", "meetingInfo", "meetingOptions"} <= set(types[0])


def test_connections_and_today_shapes(sim: SimulatorServer) -> None:
    body = call(sim, "/v4/calendar-connections/connections").json()
    assert set(body) == {"connections", "total"} and body["total"] == len(body["connections"])
    assert isinstance(call(sim, "/v4/appointment/today").json(), list)


def test_appointment_paging_validation(sim: SimulatorServer) -> None:
    missing = call(sim, PAGINATED)
    assert missing.status_code == 400
    assert "page must be an integer number" in missing.json()["message"]
    assert "pageSize must be an integer number" in missing.json()["message"]
    too_big = call(sim, PAGINATED, params={"page": 0, "pageSize": 101}).json()
    assert too_big["message"] == ["pageSize must not be greater than 100"]
    bad_sort = call(sim, PAGINATED, params={"page": 0, "pageSize": 5, "sortBy": "start"}).json()
    assert bad_sort["statusCode"] == 400 and bad_sort["error"] == "Bad Request"


def test_paging_returns_each_of_a_users_appointments_once(sim: SimulatorServer) -> None:
    user_id = sim.admin_user_id
    listed = page_all(sim, user_id)
    ids = [a["id"] for a in listed]
    assert len(ids) == len(set(ids)) == len(sim.tenant.appointment_ids_for_user(user_id))
    assert all(user_id in a["hostIds"] for a in listed)
    past_end = call(sim, PAGINATED, params={"page": 999, "pageSize": 100}).json()
    assert past_end == {"appointments": [], "total": len(ids)}


def test_multi_host_appointment_is_in_each_hosts_list(sim: SimulatorServer) -> None:
    shared = next(a for a in sim.tenant.appointments.values() if len(a["hostIds"]) > 1)
    for host_id in shared["hostIds"]:
        assert shared["id"] in {a["id"] for a in page_all(sim, host_id)}
    mid = {"page": 0, "pageSize": 100, "userId": shared["hostIds"][1]}
    assert call(sim, PAGINATED, params=mid).status_code == 200  # admin reads another user
    non_admin = sim.tenant.personal_token_user_id
    refused = call(sim, PAGINATED, non_admin, params={**mid, "userId": sim.admin_user_id})
    assert refused.status_code == 403


def test_filters_bound_start_and_sorts_apply(sim: SimulatorServer) -> None:
    user_id = sim.admin_user_id
    window = {"start": "2025-03-01T00:00:00Z", "end": "2025-03-31T23:59:59+00:00"}
    inside = page_all(sim, user_id, **window)
    low, high = 1740787200.0, 1743465599.0
    expected = [
        i
        for i in sim.tenant.appointment_ids_for_user(user_id)
        if low <= sim.tenant.start_of(i) <= high
    ]
    assert [a["id"] for a in inside] == expected and expected
    newest_first = page_all(sim, user_id, sortBy="appointment.createdAt", sortDirection="DESC")
    created = [sim.tenant.created_of(a["id"]) for a in newest_first]
    assert created == sorted(created, reverse=True)
    type_id = newest_first[0]["meetingTypeId"]
    of_type = page_all(sim, user_id, meetingTypeId=type_id)
    assert of_type and {a["meetingTypeId"] for a in of_type} == {type_id}


def test_routes_that_are_not_live_answer_nest_404(sim: SimulatorServer) -> None:
    listing = call(sim, "/v4/appointment")
    assert listing.status_code == 404
    assert listing.json() == {
        "statusCode": 404,
        "message": "Cannot GET /v4/appointment",
        "error": "Not Found",
    }
    assert call(sim, "/v4/webhooks").json()["message"] == "Cannot GET /v4/webhooks"
    assert call(sim, "/v4/appointment/does-not-exist").status_code == 404
    assert call(sim, "/webhooks").json() == []


def test_a_meeting_type_is_served_by_id(sim: SimulatorServer) -> None:
    meeting_type = sim.tenant.meeting_types[3]
    served = call(sim, f"/v4/meeting-type/{meeting_type['id']}")
    assert served.status_code == 200 and served.json() == meeting_type
    assert isinstance(served.json()["metadata"], dict)
    unknown = call(sim, "/v4/meeting-type/00000000-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Meeting type not found")


def test_booking_availability_offers_free_business_hour_slots(sim: SimulatorServer) -> None:
    host = next(u for u in sim.tenant.users if u["timezone"] == "America/New_York")
    meeting_type = next(m for m in sim.tenant.meeting_types if m["userId"] == host["id"])
    duration_s = meeting_type["meetingInfo"]["duration"] * 60
    params = {"meetingTypeId": meeting_type["id"], "start": "2031-03-03T00:00:00Z"}
    params["end"] = "2031-03-09T23:59:59Z"  # Monday to Sunday
    without_hosts = call(sim, "/v4/booking-availability", params=params)
    assert (without_hosts.status_code, without_hosts.json()["message"]) == (
        400,
        "Expected hostIds or queueId",
    )
    body = call(sim, "/v4/booking-availability", params={**params, "hostIds": host["id"]}).json()
    assert set(body) == {"timezone", "timeframes", "dates", "earliestAvailableDate"}
    assert body["timezone"] == "America/New_York" and len(body["timeframes"]) == 5
    weekdays = [f"2031-03-0{day}" for day in range(3, 8)]
    assert [d["date"] for d in body["dates"]] == weekdays  # no weekend
    assert body["earliestAvailableDate"] == "2031-03-03"
    first = body["dates"][0]["spots"][0]
    assert first["startTime"] == "2031-03-03T14:00:00.000Z"  # 09:00 in New York
    taken = sim.tenant.create_booking(meeting_type["id"], first["startTime"], [host["id"]])
    try:
        again = call(sim, "/v4/booking-availability", params={**params, "hostIds": host["id"]})
        starts = [s["startTime"] for d in again.json()["dates"] for s in d["spots"]]
        assert first["startTime"] not in starts
        assert all(parse_iso(s) - parse_iso(first["startTime"]) >= duration_s for s in starts)
    finally:
        sim.tenant.delete_appointment(taken["id"])
    too_long = call(
        sim,
        "/v4/booking-availability",
        params={**params, "hostIds": host["id"], "end": "2031-12-31T00:00:00Z"},
    )
    assert too_long.status_code == 400


def test_pending_bookings_are_provisional_not_appointments() -> None:
    with fresh() as sim:
        pending_type = next(
            m
            for m in sim.tenant.meeting_types
            if m["meetingOptions"]["doubleOptIn"] or m["meetingOptions"]["requireHostConfirmation"]
        )
        host = pending_type["userId"]
        before = sim.tenant.truth()
        listed = call(sim, "/v4/provisional-booking/paginated", host, params=PAGE_ZERO).json()
        booking = {
            "meetingTypeId": pending_type["id"],
            "start": "2031-05-05T09:00:00Z",
            "attendee": {"email": "p@kunde.example", "receiveReminders": True, "notes": {}},
        }
        created = call(sim, "/v4/booking", host, method="POST", json=booking)
        assert created.status_code == 201
        options = pending_type["meetingOptions"]
        expected = "doubleOptIn" if options["doubleOptIn"] else "requireHostConfirmation"
        assert created.json()["bookingType"] == expected
        after = call(sim, "/v4/provisional-booking/paginated", host, params=PAGE_ZERO).json()
        assert set(after) == {"provisionalBookings", "total"}
        assert after["total"] == listed["total"] + 1
        newest = after["provisionalBookings"][0]
        assert newest["id"] == created.json()["provisionalBookingId"]
        assert newest["attendee"]["email"] == "p@kunde.example"
        assert sim.tenant.truth().appointment_count == before.appointment_count
        bad = call(sim, "/v4/provisional-booking/paginated", host, params={"page": 0})
        assert bad.status_code == 400


def test_cancel_can_take_one_attendee_off_a_group_appointment() -> None:
    with fresh() as sim, WebhookReceiver() as receiver:
        sim.tenant.add_webhook(receiver.url, ["booking_cancelled"])
        group = next(
            a
            for a in sim.tenant.appointments.values()
            if len(a["attendees"]) > 2 and not is_cancelled(a)
        )
        path = f"/v4/appointment/{group['id']}/cancel"
        leaving = group["attendees"][0]["id"]
        host = group["hostIds"][0]
        reduced = call(sim, path, host, method="POST", json={"attendeeId": leaving}).json()
        assert leaving not in {a["id"] for a in reduced["attendees"]}
        assert reduced["isCancelled"] is False
        unknown = call(sim, path, host, method="POST", json={"attendeeId": leaving})
        assert unknown.status_code == 404
        whole = call(sim, path, host, method="POST", json={"cancelAll": True}).json()
        assert whole["isCancelled"] is True and whole["cancel"]["actionBy"] == host
        assert sim.webhooks.wait_idle(10)
    assert [b["id"] for b in receiver.of_type("booking_cancelled")] == [group["id"]]


def test_booking_notes_answer_becomes_the_appointments_notes() -> None:
    with fresh() as sim:
        meeting_type = call(sim, "/v4/meeting-type").json()[0]
        booking = {
            "meetingTypeId": meeting_type["id"],
            "start": "2031-03-05T10:00:00Z",
            "attendee": {
                "email": "app@kunde.example",
                "fullname": "Ada App",
                "receiveReminders": False,
                "notes": {"notes": "[api] order 17"},
            },
        }
        created = call(sim, "/v4/booking", method="POST", json=booking).json()
        appointment = call(sim, f"/v4/appointment/{created['appointmentId']}").json()
        assert appointment["notes"] == "[api] order 17"
        assert appointment["attendees"][0]["fullname"] == "Ada App"


def test_users_can_come_with_the_older_name_fields() -> None:
    config = SimulatorConfig(seed=5, users=20, appointments=200, legacy_user_name_share=0.5)
    tenant = Tenant(config)
    legacy = [u for u in tenant.users if "firstname" in u]
    assert 3 <= len(legacy) <= 17 and tenant.users[0] not in legacy
    assert all({"lastname", "fullName"} <= set(u) and "givenName" not in u for u in legacy)
    hosts = [h for a in tenant.appointments.values() for h in a["hosts"]]
    assert all(h["givenName"] and h["familyName"] for h in hosts)
    assert not any("firstname" in u for u in Tenant(SimulatorConfig(seed=5, users=20)).users)


# ---- data realism and ground truth ----------------------------------------------------------


def test_ground_truth_equals_what_the_api_returns(sim: SimulatorServer) -> None:
    truth = sim.tenant.truth()
    users = call(sim, "/v4/user", params={"limit": 100}).json()["users"]
    seen: dict[str, dict[str, Any]] = {}
    type_ids: set[str] = set()
    for user in users:
        seen.update((a["id"], a) for a in page_all(sim, user["id"]))
        type_ids.update(t["id"] for t in call(sim, "/v4/meeting-type", user["id"]).json())
    assert len(users) == truth.user_count and len(type_ids) == truth.meeting_type_count
    assert set(seen) == truth.appointment_ids and len(seen) == truth.appointment_count == 1500
    assert sum(is_cancelled(a) for a in seen.values()) == truth.cancelled_count
    assert sum(a["rescheduleCount"] > 0 for a in seen.values()) == truth.rescheduled_count
    platform = {u["id"] for u in users if u["userType"] == "api-platform"}
    assert {i for i, a in seen.items() if a["hostIds"][0] in platform} == truth.platform_hosted_ids
    assert truth.api_created_ids <= truth.appointment_ids
    bodies = list(seen.values())
    assert 0.08 < truth.cancelled_count / 1500 < 0.16
    assert any(a["cancel"] and not a["isCancelled"] for a in bodies)
    assert any("mainHost" not in a["hostingInfo"] for a in bodies)
    assert any(a["start"].endswith("Z") for a in bodies)
    assert any(a["start"].endswith(("+01:00", "-05:00", "+02:00")) for a in bodies)
    assert any(not a["attendees"][0]["lastname"].isascii() for a in bodies)
    assert any(len(a["attendees"]) > 1 for a in bodies)
    assert any("customFields" in a or "_experimentalFlag" in a for a in bodies)
    anchor = 1748779200.0
    assert all(sim.tenant.created_of(i) <= min(anchor, sim.tenant.start_of(i)) for i in seen)


# ---- mutations and webhooks -----------------------------------------------------------------


def test_booking_cancel_reschedule_change_state_and_deliver_webhooks() -> None:
    with fresh() as sim, WebhookReceiver() as receiver:
        hook = call(
            sim,
            "/webhooks",
            method="POST",
            json={
                "endpoint": receiver.url,
                "description": "test",
                "eventTypes": ["booking_created", "booking_cancelled", "booking_rescheduled"],
            },
        )
        assert hook.status_code == 201 and hook.json()["companyId"] == sim.tenant.company_id
        meeting_type = call(sim, "/v4/meeting-type").json()[0]
        booking = {
            "meetingTypeId": meeting_type["id"],
            "start": "2031-03-03T10:00:00+01:00",
            "attendee": {
                "email": "zoe@kunde.example",
                "firstname": "Zoë",
                "lastname": "Øster",
                "receiveReminders": True,
                "notes": {},
            },
            "unknownField": "dropped",
        }
        created = call(sim, "/v4/booking", method="POST", json=booking)
        assert created.status_code == 201 and set(created.json()) == {"appointmentId", "secret"}
        appointment_id = created.json()["appointmentId"]
        assert appointment_id in sim.tenant.truth().api_created_ids
        taken = call(sim, "/v4/booking", method="POST", json=booking)
        assert (taken.status_code, taken.json()["errorCode"]) == (400, "slot-occupied")
        incomplete = call(sim, "/v4/booking", method="POST", json={"meetingTypeId": "x"})
        assert incomplete.status_code == 400 and isinstance(incomplete.json()["message"], list)
        assert call(sim, f"/v4/appointment/{appointment_id}", method="PATCH").status_code == 404
        assert call(sim, f"/v4/appointment/{appointment_id}", method="DELETE").json() == {
            "statusCode": 404,
            "message": f"Cannot DELETE /v4/appointment/{appointment_id}",
            "error": "Not Found",
        }
        moved = call(
            sim,
            f"/v4/appointment/{appointment_id}/reschedule",
            method="POST",
            json={"start": "2031-03-04T09:00:00Z"},
        ).json()["appointment"]
        assert moved["start"].startswith("2031-03-04T09:00") and moved["rescheduleCount"] == 1
        cancel_path = f"/v4/appointment/{appointment_id}/cancel"
        cancelled = call(sim, cancel_path, method="POST", json={"reason": "Krank"}).json()
        assert cancelled["isCancelled"] is True and cancelled["cancel"]["actionAt"]
        assert cancelled["cancel"]["reason"] == "Krank"
        assert cancelled["updatedAt"] >= moved["updatedAt"]
        again = call(sim, cancel_path, method="POST", json={})
        assert again.status_code == 400
        assert call(sim, f"/v4/appointment/{appointment_id}").json()["isCancelled"] is True
        assert sim.webhooks.wait_idle(10)
    assert [b["webhookType"] for b in receiver.bodies] == [
        "booking_created",
        "booking_rescheduled",
        "booking_cancelled",
    ]
    assert {b["id"] for b in receiver.bodies} == {appointment_id}
    assert receiver.bodies[0]["attendees"][0]["firstname"] == "Zoë"
    assert receiver.of_type("booking_rescheduled")[0]["previousStart"].startswith("2031-03-03")
    assert receiver.of_type("booking_cancelled")[0]["cancel"]["actionAt"]
    assert [e.status for e in sim.tenant.delivered_events] == [200, 200, 200]


def test_webhook_limit_is_six_and_webhooks_can_be_deleted() -> None:
    with fresh() as sim:
        spec = {"endpoint": "https://example.invalid/h", "eventTypes": ["booking_created"]}
        ids = [call(sim, "/webhooks", method="POST", json=spec).json()["id"] for _ in range(6)]
        seventh = call(sim, "/webhooks", method="POST", json=spec)
        assert seventh.status_code == 406 and seventh.json()["error"] == "Not Acceptable"
        assert call(sim, f"/webhooks/{ids[0]}", method="DELETE").status_code == 200
        assert len(call(sim, "/webhooks").json()) == 5
        bad = call(sim, "/webhooks", method="POST", json={"endpoint": "x", "eventTypes": []})
        assert bad.json()["message"] == [
            "endpoint must be a URL address",
            "eventTypes should not be empty",
        ]


def test_created_user_fires_new_employee_and_duplicates_are_delivered() -> None:
    with fresh(duplicate_rate=1.0, legacy_envelope_rate=0.0) as sim, WebhookReceiver() as hook:
        sim.tenant.add_webhook(hook.url, ["new_employee"])
        created = httpx.post(
            sim.base_url + "/v4/user",
            headers={"Authorization": f"Bearer {sim.api_key}"},
            json={
                "email": "new@example.de",
                "givenName": "José",
                "familyName": "Núñez",
                "timezone": "Europe/Madrid",
            },
        )
        assert created.status_code == 201
        assert set(created.json()) == {
            "userId",
            "availabilityId",
            "meetingTypeId",
            "bookingUrl",
            "companyId",
        }
        assert sim.webhooks.wait_idle(10)
        assert sim.tenant.truth().user_count == 9
    assert [b["id"] for b in hook.of_type("new_employee")] == [created.json()["userId"]] * 2
    assert [e.duplicate for e in sim.tenant.delivered_events] == [False, True]


def test_failed_deliveries_are_retried_and_legacy_envelope_is_available() -> None:
    config = {"legacy_envelope_rate": 1.0, "webhook_max_attempts": 2, "webhook_retry_delay_s": 0}
    with fresh(**config) as sim, WebhookReceiver(status=503) as hook:
        sim.tenant.add_webhook(hook.url, ["booking_created"])
        [booked] = sim.tenant.add_random_bookings(1)
        assert sim.webhooks.wait_idle(10)
    assert [b["data"]["appointmentId"] for b in hook.bodies] == [booked, booked]
    assert hook.bodies[0]["event"] == "booking_created" and "timestamp" in hook.bodies[0]
    assert [(e.attempt, e.status) for e in sim.tenant.delivered_events] == [(1, 503), (2, 503)]


def test_new_bookings_sort_first_by_created_at_and_deleted_ones_vanish() -> None:
    with fresh() as sim:
        user = sim.admin_user_id
        before = sim.tenant.truth()
        added = sim.tenant.add_random_bookings(4)
        newest = page_all(sim, user, sortBy="appointment.createdAt", sortDirection="DESC")
        mine = [i for i in added if user in sim.tenant.appointments[i]["hostIds"]]
        assert [a["id"] for a in newest[: len(mine)]] == mine[::-1]
        victim = next(iter(sim.tenant.appointments))
        sim.tenant.delete_appointment(victim)
        assert call(sim, f"/v4/appointment/{victim}").status_code == 404
        truth = sim.tenant.truth()
        assert truth.appointment_count == before.appointment_count + 4 - 1
        assert truth.deleted_ids == {victim} and victim not in truth.appointment_ids


def test_live_mode_keeps_changing_the_tenant() -> None:
    with fresh(live=True, live_interval_s=0.05) as sim, WebhookReceiver() as hook:
        sim.tenant.add_webhook(hook.url, ["booking_created", "booking_cancelled"])
        deadline = time.monotonic() + 5
        while sim.live.rounds < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        sim.live.stop()
        assert sim.webhooks.wait_idle(10)
        assert sim.tenant.truth().appointment_count >= 300 + sim.live.rounds
    assert len(hook.of_type("booking_created")) >= 5


# ---- rate limit and faults ------------------------------------------------------------------


def test_rate_limit_answers_429_after_the_burst() -> None:
    with fresh(
        rate_limit_enabled=True,
        rate_limit_per_minute=6,
        rate_limit_burst=5,
        retry_after_probability=1.0,
    ) as sim:
        statuses = [call(sim, "/v4/meeting-type").status_code for _ in range(5)]
        limited = call(sim, "/v4/meeting-type")
        assert statuses == [200] * 5 and limited.status_code == 429
        assert limited.json() == {
            "statusCode": 429,
            "message": "Too Many Requests",
            "error": "Too Many Requests",
        }
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        pat = httpx.get(
            sim.base_url + "/v4/user/me", headers={"Authorization": f"Bearer {sim.personal_token}"}
        )
        assert pat.status_code == 200  # buckets are per credential
        assert sim.stats.status_counts[429] == 1 and sim.stats.total == 7


def test_scripted_faults_replace_the_next_matching_requests() -> None:
    with fresh() as sim:
        params = {"page": 1, "pageSize": 50}
        sim.faults.add(PAGINATED, query={"page": 1}, status=429, headers={"Retry-After": "7"})
        first, second = (call(sim, PAGINATED, params=params) for _ in range(2))
        assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
        assert first.json()["message"] == "Too Many Requests" and second.status_code == 200
        sim.faults.add(PAGINATED, status=502, html=True, times=2)
        statuses = [call(sim, PAGINATED, params=params).status_code for _ in range(3)]
        assert statuses == [502, 502, 200]
        sim.faults.add(PAGINATED, drop=True)
        with pytest.raises(httpx.RemoteProtocolError):
            call(sim, PAGINATED, params=params)
        sim.faults.add(PAGINATED, truncate=True)
        cut = call(sim, PAGINATED, params=params)
        with pytest.raises(json.JSONDecodeError):
            cut.json()
        sim.faults.repeat_page(PAGINATED, page=2)
        page_one = call(sim, PAGINATED, params=params).content
        assert call(sim, PAGINATED, params={"page": 2, "pageSize": 50}).content == page_one
        sim.faults.add(PAGINATED, delay_s=0.3)
        started = time.monotonic()
        assert call(sim, PAGINATED, params=params).status_code == 200
        assert time.monotonic() - started >= 0.3
        assert sim.stats.by_route[("GET", PAGINATED)] == 10
        assert sim.stats.status_counts[0] == 1 and not sim.faults.pending
        assert len(sim.stats.requests_for(PAGINATED, page="1")) == 9


def test_stalled_response_times_out_the_client_and_does_not_block_shutdown() -> None:
    sim = fresh().start()
    sim.faults.add("/v4/meeting-type", delay_s=60)
    with pytest.raises(httpx.ReadTimeout):
        call(sim, "/v4/meeting-type", timeout=0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 3


def test_restart_keeps_port_and_data() -> None:
    sim = fresh().start()
    try:
        base_url, booked = sim.base_url, sim.tenant.add_random_bookings(1)[0]
        sim.stop()
        with pytest.raises(httpx.ConnectError):
            call(sim, "/v4/user/me")
        sim.start()
        assert sim.base_url == base_url
        assert call(sim, f"/v4/appointment/{booked}").json()["id"] == booked
    finally:
        sim.stop()


def test_on_request_callback_shifts_rows_mid_pagination() -> None:
    with fresh() as sim:
        user = sim.admin_user_id
        total = len(sim.tenant.appointment_ids_for_user(user))
        sim.faults.on_request(
            PAGINATED,
            {"page": 1},
            lambda: sim.tenant.create_booking(
                next(m for m in sim.tenant.meeting_types if m["userId"] == user)["id"],
                "2020-01-01T00:00:00Z",
            ),
        )
        first = call(sim, PAGINATED, params={"page": 0, "pageSize": 10}).json()
        second = call(sim, PAGINATED, params={"page": 1, "pageSize": 10}).json()
        assert (first["total"], second["total"]) == (total, total + 1)
        assert second["appointments"][0]["id"] == first["appointments"][-1]["id"]


def test_random_fault_rates_apply_to_every_request() -> None:
    with fresh(error_rate=1.0) as sim:
        failed = call(sim, "/v4/meeting-type")
        assert failed.status_code in (500, 503)
        assert failed.json()["statusCode"] == failed.status_code
    with fresh(html_502_rate=1.0) as sim:
        gateway = call(sim, "/v4/meeting-type")
        assert gateway.status_code == 502 and "<center>nginx</center>" in gateway.text
    with fresh(drop_rate=1.0) as sim, pytest.raises(httpx.RemoteProtocolError):
        call(sim, "/v4/meeting-type")


# ---- CLI -------------------------------------------------------------------------------------


def test_simulate_parser_defaults_and_flags() -> None:
    parser = argparse.ArgumentParser()
    add_simulate_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", "--no-rate-limit", "--drop-rate", "0.1", "--live"])
    assert (args.port, args.host, args.seed, args.users, args.appointments) == (
        8765,
        "127.0.0.1",
        42,
        25,
        5000,
    )
    assert args.no_rate_limit and args.drop_rate == 0.1 and args.live and callable(args.handler)


@pytest.mark.slow
def test_simulate_command_serves_in_a_child_process() -> None:
    with simulator_process(seed=5, users=6, appointments=100, extra_args=["--live"]) as child:
        environment = child.environment()
        me = httpx.get(
            environment["MEETERGO_API_BASE_URL"] + "/v4/user/me",
            headers={"Authorization": f"Bearer {environment['MEETERGO_API_KEY']}"},
        )
        assert me.json()["id"] == environment["MEETERGO_API_USER_ID"] == child.admin_user_id
        assert child.personal_token.startswith("rgo-")
        assert child.admin_personal_token.startswith("rgo-")
    assert child.process.returncode == 0  # SIGINT ends it cleanly
