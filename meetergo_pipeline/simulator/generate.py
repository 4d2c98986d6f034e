"""Deterministic synthetic meetergo company: users, meeting types, appointments, connections.

Everything comes from one `random.Random(seed)`, uuids included, so the same seed always
yields the same ids. Field names follow the live API (docs/meetergo-api.md); appointments come from
`appointments.AppointmentFactory`, and which bookings the company makes through the API is
described in `metering`.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

from meetergo_pipeline.simulator import metering, names
from meetergo_pipeline.simulator.appointments import (
    DAY_S,
    HISTORY_DAYS,
    AppointmentFactory,
    GeneratedAppointment,
    TypeProfile,
    api_share,
    new_uuid,
    pick,
    type_profile,
)
from meetergo_pipeline.simulator.isotime import format_iso, parse_iso
from meetergo_pipeline.simulator.workhours import business_start_on_or_after

USER_TYPE_WEIGHTS = {"standard": 55, "api-platform": 25, "resource": 10, "partner": 10}
# Every tenant has these types right after the owner, so each userType is present.
GUARANTEED_USER_TYPES = ("api-platform", "api-platform", "api-platform", "resource", "partner")
USER_MIN_AGE_DAYS = HISTORY_DAYS + 120  # older than any booking made in the history window
CONFIRMATION_SHARE = 0.08  # meeting types needing double opt-in or the host's confirmation
CAMPAIGN_METADATA_SHARE = 0.1  # other meeting types with metadata unrelated to the API


@dataclass
class GeneratedTenant:
    company_id: str
    owner_id: str
    users: list[dict[str, Any]]
    meeting_types: list[dict[str, Any]]
    appointments: list[GeneratedAppointment]
    provisional_bookings: list[dict[str, Any]]
    connections: dict[str, list[dict[str, Any]]]
    factory: AppointmentFactory
    api_key: str
    expired_api_key: str
    personal_token: str
    personal_token_user_id: str
    admin_personal_token: str


def random_token(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))


def generate_tenant(
    seed: int,
    user_count: int,
    appointment_count: int,
    anchor: float,
    legacy_user_name_share: float = 0.0,
) -> GeneratedTenant:
    """The tenant of `seed`; `legacy_user_name_share` of the users (never the owner) are
    served with the older `firstname`/`lastname` instead of `givenName`/`familyName`."""
    rng = random.Random(seed)
    company_id = new_uuid(rng)
    users = [_user(rng, company_id, index, anchor) for index in range(max(1, user_count))]
    meeting_types: list[dict[str, Any]] = []
    types_by_user: dict[str, list[dict[str, Any]]] = {}
    profiles: dict[str, TypeProfile] = {}
    queue_ids = [new_uuid(rng) for _ in range(3)]
    for user in users:
        own = [_meeting_type(rng, user, queue_ids, n, profiles) for n in range(rng.randint(2, 5))]
        types_by_user[user["id"]] = own
        meeting_types.extend(own)
    connections = {user["id"]: _connections(rng, user) for user in users}
    factory = AppointmentFactory(rng, users, types_by_user, profiles, anchor)
    appointments = [factory.build() for _ in range(appointment_count)]
    provisional = _provisional_bookings(factory, meeting_types, anchor)
    pat_owner = next((u for u in users[1:] if u["userType"] == "standard"), users[-1])
    tenant = GeneratedTenant(
        company_id=company_id,
        owner_id=users[0]["id"],
        users=users,
        meeting_types=meeting_types,
        appointments=appointments,
        provisional_bookings=provisional,
        connections=connections,
        factory=factory,
        api_key=f"ak_live:{new_uuid(rng)}:{random_token(rng, 32)}",
        expired_api_key=f"ak_live:{new_uuid(rng)}:{random_token(rng, 32)}",
        personal_token="rgo-" + random_token(rng, 32),
        personal_token_user_id=pat_owner["id"],
        admin_personal_token="rgo-" + random_token(rng, 32),
    )
    legacy_rng = random.Random(seed * 389 + 17)
    for user in users[1:]:
        if legacy_rng.random() < legacy_user_name_share:
            use_legacy_names(user)
    return tenant


def use_legacy_names(user: dict[str, Any]) -> None:
    """Serve `user` as older API versions did: `firstname`/`lastname` for the name fields."""
    user["firstname"] = user.pop("givenName")
    user["lastname"] = user.pop("familyName")


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
    metadata: dict[str, Any] | None = None,
    confirmation: str | None = None,
) -> dict[str, Any]:
    """A meeting type; `confirmation` is "doubleOptIn", "requireHostConfirmation" or None."""
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
        "metadata": metadata or {},
        "meetingInfo": {
            "name": name,
            "description": f"{name} ({duration} Min.)",
            "duration": duration,
            "channel": rng.choice(names.CHANNELS),
            "bufferBefore": rng.choice((0, 0, 5, 10)),
            "bufferAfter": rng.choice((0, 0, 5, 15)),
        },
        "meetingOptions": {
            "doubleOptIn": confirmation == "doubleOptIn",
            "requireHostConfirmation": confirmation == "requireHostConfirmation",
            "allowReschedule": True,
            "minimumNotice": rng.choice((0, 60, 240, 1440)),
        },
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
    age_days = 900 if index == 0 else rng.uniform(USER_MIN_AGE_DAYS, 880)
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


def _meeting_type(
    rng: random.Random,
    user: dict[str, Any],
    queue_ids: list[str],
    position: int,
    profiles: dict[str, TypeProfile],
) -> dict[str, Any]:
    """One of `user`'s meeting types; its booking profile goes into `profiles`.

    A user's first type always books instantly (like the default type of a new user).
    """
    is_group = rng.random() < 0.2
    if is_group:
        name, spots = rng.choice(names.GROUP_MEETING_TYPE_NAMES), rng.randint(3, 20)
    else:
        name, spots = rng.choice(names.MEETING_TYPE_NAMES), 1
    queue_id = rng.choice(queue_ids) if rng.random() < 0.2 else None
    created_ts = rng.uniform(0, 10) * DAY_S + parse_iso(user["createdAt"])
    user_type = user["userType"]
    booked_by_app = user_type == "api-platform" or (
        user_type in ("standard", "partner") and rng.random() < metering.API_TYPE_SHARE
    )
    metadata: dict[str, Any] = {}
    if booked_by_app and rng.random() < metering.API_TYPE_METADATA_SHARE:
        metadata = {metering.METADATA_SOURCE_KEY: metering.METADATA_API_SOURCE}
    elif rng.random() < CAMPAIGN_METADATA_SHARE:
        metadata = {"campaign": pick(rng, names.CAMPAIGNS)}
    confirmation = None
    if position > 0 and rng.random() < CONFIRMATION_SHARE:
        confirmation = pick(rng, ("doubleOptIn", "requireHostConfirmation"))
    duration = rng.choice((15, 30, 30, 45, 60, 90))
    meeting_type = build_meeting_type(
        rng, user, name, duration, spots, queue_id, created_ts, metadata, confirmation
    )
    share = api_share(user_type, booked_by_app)
    profiles[meeting_type["id"]] = type_profile(meeting_type, share, rng.uniform(0.75, 1.35))
    return meeting_type


def _provisional_bookings(
    factory: AppointmentFactory, meeting_types: list[dict[str, Any]], anchor: float
) -> list[dict[str, Any]]:
    """A few pending bookings on each type that needs a confirmation, all made recently."""
    rng, pending = factory.rng, []
    for meeting_type in meeting_types:
        options = meeting_type["meetingOptions"]
        if not (options["doubleOptIn"] or options["requireHostConfirmation"]):
            continue
        host_id = meeting_type["userId"]
        zone = factory.calendar_of[host_id].zone
        for _ in range(rng.randint(0, 3)):
            created = anchor - rng.random() * 2 * DAY_S
            start = business_start_on_or_after(
                zone, anchor + DAY_S + factory.lead_s(meeting_type), rng
            )
            pending.append(factory.provisional(meeting_type, [host_id], start, created))
    return pending


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
