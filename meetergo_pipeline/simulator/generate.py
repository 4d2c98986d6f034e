"""Deterministic synthetic meetergo company: users, meeting types, appointments, connections.

Everything comes from one `random.Random(seed)`, uuids included, so the same seed always
yields the same ids. Field names follow the live API (docs/meetergo-api.md).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meetergo_pipeline.simulator import names
from meetergo_pipeline.simulator.isotime import format_iso, parse_iso

T = TypeVar("T")
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
ATTENDEE_POOL_SIZE = 2000


@dataclass
class GeneratedAppointment:
    body: dict[str, Any]
    start_ts: float
    end_ts: float
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


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """`rng.choice` at a fraction of the cost; the hot generation loop calls it a lot."""
    return options[int(rng.random() * len(options))]


def new_uuid(rng: random.Random) -> str:
    """A version-4 uuid drawn from `rng` (same text as `uuid.UUID(int=..., version=4)`)."""
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
    hex_text = f"{bits:032x}"
    return "-".join((hex_text[:8], hex_text[8:12], hex_text[12:16], hex_text[16:20], hex_text[20:]))


def random_token(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))


def generate_tenant(
    seed: int, user_count: int, appointment_count: int, anchor: float
) -> GeneratedTenant:
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
    appointment_factory = AppointmentFactory(rng, users, types_by_user, anchor)
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
    rng: random.Random,
    company_id: str,
    given: str,
    family: str,
    email: str,
    timezone: str,
    user_type: str,
    created_ts: float,
    is_admin: bool = False,
) -> dict[str, Any]:
    name_part = f"{names.ascii_slug(given) or 'user'}-{names.ascii_slug(family) or 'x'}"
    slug = f"{name_part}-{rng.randrange(10**4)}"
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
    rng: random.Random,
    user: dict[str, Any],
    name: str,
    duration: int,
    spots: int,
    queue_id: str | None,
    created_ts: float,
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
        return f"https://meet.google.com/{rng.getrandbits(40):010x}"
    if channel == "teams":
        return f"https://teams.microsoft.com/l/meetup-join/{rng.getrandbits(64):016x}"
    return None


def new_person(rng: random.Random) -> dict[str, Any]:
    """An attendee without its per-appointment `id`."""
    first, last = pick(rng, names.GIVEN_NAMES), pick(rng, names.FAMILY_NAMES)
    local = f"{names.ascii_slug(first) or 'gast'}.{names.ascii_slug(last) or 'kunde'}"
    return {
        "email": f"{local}{int(rng.random() * 1000)}@kunde-{int(rng.random() * 50)}.example",
        "firstname": first,
        "lastname": last,
        "fullname": f"{first} {last}",
        "phone": pick(rng, (None, f"+49 151 {10**7 + int(rng.random() * 9 * 10**7)}")),
        "timezone": pick(rng, names.TIMEZONES),
        "language": pick(rng, names.LANGUAGES),
    }


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
        rng,
        company_id,
        given,
        family,
        f"{local}@{domain}",
        rng.choice(names.TIMEZONES),
        user_type,
        anchor - age_days * DAY_S,
        is_admin=index == 0,
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


class AppointmentFactory:
    """Builds appointments one by one; shared sub-objects (hosts, meetingType) are reused.

    `build` makes a historical appointment (maybe cancelled or rescheduled); `body` a fresh one.
    """

    def __init__(
        self,
        rng: random.Random,
        users: list[dict[str, Any]],
        types_by_user: dict[str, list[dict[str, Any]]],
        anchor: float,
    ) -> None:
        self.rng = rng
        self.users = list(users)
        self.types_by_user = dict(types_by_user)
        self.anchor = anchor
        self.first_slot = (anchor - HISTORY_DAYS * DAY_S) // SLOT_S * SLOT_S
        self.slot_count = int((HISTORY_DAYS + FUTURE_DAYS) * DAY_S // SLOT_S)
        self.hosts = {user["id"]: host_summary(user) for user in users}
        self.type_summaries = {
            mt["id"]: meeting_type_summary(mt) for types in types_by_user.values() for mt in types
        }
        self.company_id = users[0]["companyId"]
        # Customers book again and again: attendees come from a pool of people.
        self.people = [new_person(rng) for _ in range(ATTENDEE_POOL_SIZE)]

    def build(self) -> GeneratedAppointment:
        """A historical appointment around the anchor."""
        rng = self.rng
        host = pick(rng, self.users)
        meeting_type = pick(rng, self.types_by_user[host["id"]])
        start = self.first_slot + int(rng.random() * self.slot_count) * SLOT_S
        latest_known = min(start, self.anchor)
        created = latest_known - rng.uniform(3600, 45 * DAY_S)
        host_ids = [host["id"]]
        if rng.random() < MULTI_HOST_SHARE and len(self.users) > 1:
            others = [u["id"] for u in rng.sample(self.users, min(3, len(self.users)))]
            host_ids += [uid for uid in others if uid != host["id"]][: rng.randint(1, 2)]
        body = self.body(meeting_type, host_ids, start, created)
        updated = created
        if rng.random() < CANCELLED_SHARE:
            action_at = rng.uniform(created, latest_known)
            body["cancel"] = self._cancel(action_at, body)
            body["isCancelled"] = rng.random() >= CANCEL_ONLY_ACTION_AT_SHARE
            updated = action_at
        if rng.random() < RESCHEDULED_SHARE:
            rescheduled_at = rng.uniform(created, latest_known)
            body["rescheduledAt"] = format_iso(rescheduled_at)
            body["rescheduleCount"] = pick(rng, (1, 1, 1, 2, 3))
            updated = max(updated, rescheduled_at)
        body["updatedAt"] = format_iso(updated)
        end = start + meeting_type["meetingInfo"]["duration"] * 60
        return GeneratedAppointment(body=body, start_ts=start, end_ts=end, created_ts=created)

    def register(self, user: dict[str, Any], meeting_types: list[dict[str, Any]]) -> None:
        """Make a user created after generation (POST /v4/user) available as host."""
        self.users.append(user)
        self.hosts[user["id"]] = host_summary(user)
        self.types_by_user[user["id"]] = meeting_types
        for meeting_type in meeting_types:
            self.type_summaries[meeting_type["id"]] = meeting_type_summary(meeting_type)

    def body(
        self, meeting_type: dict[str, Any], host_ids: list[str], start: float, created: float
    ) -> dict[str, Any]:
        rng = self.rng
        info = meeting_type["meetingInfo"]
        offset = pick(rng, names.OFFSET_MINUTES)
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
            "attendees": [
                {"id": new_uuid(rng), **pick(rng, self.people)} for _ in range(attendee_count)
            ],
            "companyId": self.company_id,
            "location": "Friedrichstraße 12, 10117 Berlin" if info["channel"] == "local" else None,
            "notes": pick(rng, names.NOTES),
            "createdAt": format_iso(created, pick(rng, names.OFFSET_MINUTES)),
            "updatedAt": None,
            "cancel": None,
            "isCancelled": False,
            "rescheduledAt": None,
            "rescheduleCount": 0,
        }
        roll = rng.random()
        if roll < 0.03:
            body["customFields"] = {
                "leadSource": pick(rng, names.CUSTOM_FIELD_SOURCES),
                "crmId": f"CRM-{rng.randrange(10**6)}",
            }
        elif roll < 0.05:
            body["_experimentalFlag"] = True
        return body

    def _cancel(self, action_at: float, body: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        source = pick(rng, ("attendee", "attendee", "host", "api"))
        actor = body["attendees"][0]["email"] if source == "attendee" else body["hostIds"][0]
        return {
            "actionSource": source,
            "actionAt": format_iso(action_at),
            "actionBy": actor,
            "reason": pick(rng, names.CANCEL_REASONS),
        }
