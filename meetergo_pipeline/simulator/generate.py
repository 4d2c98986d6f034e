"""Deterministic synthetic meetergo company: users, meeting types, appointments, connections.

Everything comes from one `random.Random(seed)`, uuids included, so the same seed always
yields the same ids. Field names follow the live API (see /work/shared/meetergo-api.md).
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from meetergo_pipeline.simulator import names
from meetergo_pipeline.simulator.isotime import format_iso, parse_iso

DAY_S = 86_400.0
HISTORY_DAYS = 365
FUTURE_DAYS = 60
SLOT_S = 900  # appointments start on quarter hours
USER_TYPE_WEIGHTS = {"standard": 55, "api-platform": 25, "resource": 10, "partner": 10}
# Every tenant has these types right after the owner, so each userType is present.
GUARANTEED_USER_TYPES = ("api-platform", "api-platform", "api-platform", "resource", "partner")
MULTI_HOST_SHARE = 0.10
MAIN_HOST_MISSING_SHARE = 0.10
CANCELLED_SHARE = 0.12
CANCEL_ONLY_ACTION_AT_SHARE = 0.10  # of the cancelled: isCancelled false, cancel.actionAt set
RESCHEDULED_SHARE = 0.08


@dataclass
class GeneratedAppointment:
    body: dict[str, Any]
    start_ts: float
    created_ts: float


@dataclass
class GeneratedTenant:
    company_id: str
    owner_id: str
    users: list[dict[str, Any]]
    meeting_types: list[dict[str, Any]]
    appointments: list[GeneratedAppointment]
    connections: dict[str, list[dict[str, Any]]]
    api_key: str
    expired_api_key: str
    personal_token: str
    personal_token_user_id: str
    api_created_ids: set[str] = field(default_factory=set)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_token(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))


def generate_tenant(seed: int, user_count: int, appointment_count: int, anchor: float) -> GeneratedTenant:
    rng = random.Random(seed)
    company_id = new_uuid(rng)
    users = [_user(rng, company_id, index, anchor) for index in range(max(1, user_count))]
    meeting_types: list[dict[str, Any]] = []
    types_by_user: dict[str, list[dict[str, Any]]] = {}
    queue_ids = [new_uuid(rng) for _ in range(3)]
    for user in users:
        own = [_meeting_type(rng, user, queue_ids) for _ in range(rng.randint(2, 5))]
        types_by_user[user["id"]] = own
        meeting_types.extend(own)
    connections = {user["id"]: _connections(rng, user) for user in users}
    appointment_factory = _AppointmentFactory(rng, users, types_by_user, anchor)
    appointments = [appointment_factory.build() for _ in range(appointment_count)]
    api_platform_ids = {user["id"] for user in users if user["userType"] == "api-platform"}
    pat_owner = next((u for u in users[1:] if u["userType"] == "standard"), users[-1])
    return GeneratedTenant(
        company_id=company_id,
        owner_id=users[0]["id"],
        users=users,
        meeting_types=meeting_types,
        appointments=appointments,
        connections=connections,
        api_key=f"ak_live:{new_uuid(rng)}:{random_token(rng, 32)}",
        expired_api_key=f"ak_live:{new_uuid(rng)}:{random_token(rng, 32)}",
        personal_token="rgo-" + random_token(rng, 32),
        personal_token_user_id=pat_owner["id"],
        api_created_ids={
            a.body["id"] for a in appointments if a.body["hostIds"][0] in api_platform_ids
        },
    )


def build_user(
    rng: random.Random, company_id: str, given: str, family: str, email: str, timezone: str,
    user_type: str, created_ts: float, is_admin: bool = False,
) -> dict[str, Any]:
    slug = f"{names.ascii_slug(given) or 'user'}-{names.ascii_slug(family) or 'x'}-{rng.randrange(10**4)}"
    return {
        "id": new_uuid(rng),
        "givenName": given,
        "familyName": family,
        "fullName": f"{given} {family}",
        "email": email,
        "timezone": timezone,
        "language": rng.choice(names.LANGUAGES),
        "userType": user_type,
        "isAdmin": is_admin,
        "companyId": company_id,
        "slug": slug,
        "title": rng.choice(names.TITLES),
        "picture": rng.choice((None, f"https://cdn.meetergo.com/avatars/{slug}.png")),
        "createdAt": format_iso(created_ts),
        "updatedAt": format_iso(created_ts + rng.uniform(0, 30) * DAY_S),
        "deletedAt": None,
        "personalPage": {
            "enabled": rng.random() < 0.8,
            "url": f"https://cal.meetergo.com/{slug}",
            "headline": f"Termin mit {given} buchen",
        },
    }


def build_meeting_type(
    rng: random.Random, user: dict[str, Any], name: str, duration: int, spots: int,
    queue_id: str | None, created_ts: float,
) -> dict[str, Any]:
    slug = f"{names.ascii_slug(name) or 'meeting'}-{duration}"
    return {
        "id": new_uuid(rng),
        "slug": slug,
        "userId": user["id"],
        "queueId": queue_id,
        "spots": spots,
        "enabled": rng.random() < 0.9,
        "companyId": user["companyId"],
        "createdAt": format_iso(created_ts),
        "meetingInfo": {
            "name": name,
            "description": f"{name} ({duration} Min.)",
            "duration": duration,
            "channel": rng.choice(names.CHANNELS),
            "bufferBefore": rng.choice((0, 0, 5, 10)),
            "bufferAfter": rng.choice((0, 0, 5, 15)),
        },
        "meetingOptions": {
            "doubleOptIn": False,
            "requireHostConfirmation": False,
            "allowReschedule": True,
            "minimumNotice": rng.choice((0, 60, 240, 1440)),
        },
    }


def host_summary(user: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "email", "givenName", "familyName", "fullName", "slug", "picture")
    return {key: user[key] for key in keys}


def meeting_type_summary(meeting_type: dict[str, Any]) -> dict[str, Any]:
    info = meeting_type["meetingInfo"]
    return {
        "id": meeting_type["id"],
        "slug": meeting_type["slug"],
        "meetingInfo": {"name": info["name"], "duration": info["duration"]},
        "metadata": {},
    }


def meeting_link(rng: random.Random, channel: str) -> str | None:
    if channel == "zoom":
        return f"https://zoom.us/j/{rng.randrange(10**10, 10**11)}"
    if channel == "google":
        return f"https://meet.google.com/{random_token(rng, 10).lower()}"
    if channel == "teams":
        return f"https://teams.microsoft.com/l/meetup-join/{random_token(rng, 16)}"
    return None


def _user(rng: random.Random, company_id: str, index: int, anchor: float) -> dict[str, Any]:
    if index == 0:
        user_type = "standard"
    elif index <= len(GUARANTEED_USER_TYPES):
        user_type = GUARANTEED_USER_TYPES[index - 1]
    else:
        user_type = rng.choices(list(USER_TYPE_WEIGHTS), list(USER_TYPE_WEIGHTS.values()))[0]
    given, family = rng.choice(names.GIVEN_NAMES), rng.choice(names.FAMILY_NAMES)
    local = f"{names.ascii_slug(given) or 'user'}.{names.ascii_slug(family) or index}{index}"
    domain = "api.example-gmbh.de" if user_type == "api-platform" else "example-gmbh.de"
    age_days = 900 if index == 0 else rng.uniform(HISTORY_DAYS + 20, 880)
    return build_user(
        rng, company_id, given, family, f"{local}@{domain}", rng.choice(names.TIMEZONES),
        user_type, anchor - age_days * DAY_S, is_admin=index == 0,
    )


def _meeting_type(rng: random.Random, user: dict[str, Any], queue_ids: list[str]) -> dict[str, Any]:
    is_group = rng.random() < 0.2
    if is_group:
        name, spots = rng.choice(names.GROUP_MEETING_TYPE_NAMES), rng.randint(3, 20)
    else:
        name, spots = rng.choice(names.MEETING_TYPE_NAMES), 1
    queue_id = rng.choice(queue_ids) if rng.random() < 0.2 else None
    created_ts = rng.uniform(0, 10) * DAY_S + parse_iso(user["createdAt"])
    return build_meeting_type(
        rng, user, name, rng.choice((15, 30, 30, 45, 60, 90)), spots, queue_id, created_ts
    )


def _connections(rng: random.Random, user: dict[str, Any]) -> list[dict[str, Any]]:
    providers = ("google", "microsoft", "caldav", "exchange")
    created_ts = parse_iso(user["createdAt"]) + DAY_S
    return [
        {
            "id": new_uuid(rng),
            "provider": rng.choice(providers),
            "email": user["email"],
            "isPrimary": position == 0,
            "status": rng.choice(("connected", "connected", "connected", "credential_error")),
            "createdAt": format_iso(created_ts + position * DAY_S),
        }
        for position in range(rng.choice((0, 1, 1, 1, 2)))
    ]


class _AppointmentFactory:
    """Builds appointments one by one; shared sub-objects (hosts, meetingType) are reused."""

    def __init__(
        self, rng: random.Random, users: list[dict[str, Any]],
        types_by_user: dict[str, list[dict[str, Any]]], anchor: float,
    ) -> None:
        self.rng = rng
        self.users = users
        self.types_by_user = types_by_user
        self.anchor = anchor
        self.first_slot = anchor - HISTORY_DAYS * DAY_S
        self.slot_count = int((HISTORY_DAYS + FUTURE_DAYS) * DAY_S // SLOT_S)
        self.hosts = {user["id"]: host_summary(user) for user in users}
        self.type_summaries = {
            mt["id"]: meeting_type_summary(mt) for types in types_by_user.values() for mt in types
        }
        self.company_id = users[0]["companyId"]

    def build(self) -> GeneratedAppointment:
        rng = self.rng
        host = rng.choice(self.users)
        meeting_type = rng.choice(self.types_by_user[host["id"]])
        start = self.first_slot + rng.randrange(self.slot_count) * SLOT_S
        latest_known = min(start, self.anchor)
        created = latest_known - rng.uniform(3600, 45 * DAY_S)
        host_ids = [host["id"]]
        if rng.random() < MULTI_HOST_SHARE and len(self.users) > 1:
            others = [u["id"] for u in rng.sample(self.users, min(3, len(self.users)))]
            host_ids += [uid for uid in others if uid != host["id"]][: rng.randint(1, 2)]
        body = self._body(meeting_type, host_ids, start, created)
        updated = created
        if rng.random() < CANCELLED_SHARE:
            action_at = rng.uniform(created, latest_known)
            body["cancel"] = self._cancel(action_at, body)
            body["isCancelled"] = rng.random() >= CANCEL_ONLY_ACTION_AT_SHARE
            updated = action_at
        if rng.random() < RESCHEDULED_SHARE:
            rescheduled_at = rng.uniform(created, latest_known)
            body["rescheduledAt"] = format_iso(rescheduled_at)
            body["rescheduleCount"] = rng.choice((1, 1, 1, 2, 3))
            updated = max(updated, rescheduled_at)
        body["updatedAt"] = format_iso(updated)
        return GeneratedAppointment(body=body, start_ts=start, created_ts=created)

    def attendee(self, email: str | None = None, first: str | None = None,
                 last: str | None = None) -> dict[str, Any]:
        rng = self.rng
        first = first or rng.choice(names.GIVEN_NAMES)
        last = last or rng.choice(names.FAMILY_NAMES)
        local = f"{names.ascii_slug(first) or 'gast'}.{names.ascii_slug(last) or 'kunde'}"
        return {
            "id": new_uuid(rng),
            "email": email or f"{local}{rng.randrange(1000)}@kunde-{rng.randrange(50)}.example",
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "phone": rng.choice((None, f"+49 151 {rng.randrange(10**7, 10**8)}")),
            "timezone": rng.choice(names.TIMEZONES),
            "language": rng.choice(names.LANGUAGES),
        }

    def _body(
        self, meeting_type: dict[str, Any], host_ids: list[str], start: float, created: float
    ) -> dict[str, Any]:
        rng = self.rng
        info = meeting_type["meetingInfo"]
        offset = rng.choice(names.OFFSET_MINUTES)
        link = meeting_link(rng, info["channel"])
        hosting_info: dict[str, Any] = {"meetingLink": link}
        if rng.random() >= MAIN_HOST_MISSING_SHARE:
            hosting_info["mainHost"] = host_ids[0]
        spots = meeting_type["spots"]
        attendee_count = rng.randint(2, min(spots, 6)) if spots > 1 else 1
        body: dict[str, Any] = {
            "id": new_uuid(rng),
            "secret": f"{rng.getrandbits(128):032x}",
            "start": format_iso(start, offset),
            "end": format_iso(start + info["duration"] * 60, offset),
            "meetingTypeId": meeting_type["id"],
            "meetingType": self.type_summaries[meeting_type["id"]],
            "meetingInfo": {"channel": info["channel"], "meetingLink": link},
            "hostingInfo": hosting_info,
            "hosts": [self.hosts[uid] for uid in host_ids],
            "hostIds": host_ids,
            "attendees": [self.attendee() for _ in range(attendee_count)],
            "companyId": self.company_id,
            "location": "Friedrichstraße 12, 10117 Berlin" if info["channel"] == "local" else None,
            "notes": rng.choice(names.NOTES),
            "createdAt": format_iso(created, rng.choice(names.OFFSET_MINUTES)),
            "updatedAt": None,
            "cancel": None,
            "isCancelled": False,
            "rescheduledAt": None,
            "rescheduleCount": 0,
        }
        roll = rng.random()
        if roll < 0.03:
            body["customFields"] = {
                "leadSource": rng.choice(names.CUSTOM_FIELD_SOURCES),
                "crmId": f"CRM-{rng.randrange(10**6)}",
            }
        elif roll < 0.05:
            body["_experimentalFlag"] = True
        return body

    def _cancel(self, action_at: float, body: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        source = rng.choice(("attendee", "attendee", "host", "api"))
        actor = body["attendees"][0]["email"] if source == "attendee" else body["hostIds"][0]
        return {
            "actionSource": source,
            "actionAt": format_iso(action_at),
            "actionBy": actor,
            "reason": rng.choice(names.CANCEL_REASONS),
        }
