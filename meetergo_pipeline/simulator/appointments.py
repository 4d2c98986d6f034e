"""Appointments of the synthetic tenant: who books which meeting type, when, and how it ends.

Each meeting type has a `TypeProfile`: how far ahead people book it (log-normal lead time
around a median), how often it is cancelled or rescheduled, and which share of its bookings
the company's application makes through the API (see `metering`). Starts fall in the main
host's business hours (`workhours`). Attendees are partly regulars: someone who booked a
host before books that host again under the same name and e-mail.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, TypeVar

from meetergo_pipeline.simulator import metering, names
from meetergo_pipeline.simulator.isotime import format_iso
from meetergo_pipeline.simulator.workhours import DAY_S, HostCalendar

T = TypeVar("T")
HISTORY_DAYS = 365
FUTURE_DAYS = 60
MULTI_HOST_SHARE = 0.10
MAIN_HOST_MISSING_SHARE = 0.10
CANCEL_ONLY_ACTION_AT_SHARE = 0.10  # of the cancelled: isCancelled false, cancel.actionAt set
REPEAT_BOOKER_SHARE = 0.35  # bookings by someone who booked the same host before
REGULAR_SHARE = 0.3  # of the new people, those who will come back
LEAD_SIGMA = 0.8
MIN_LEAD_S = 3600.0
MAX_LEAD_S = 90 * DAY_S
RESOURCE_ACTIVITY = 0.4  # meeting rooms are booked less than people
# Quantiles of the log-normal lead-time factor: one random number draws from it.
LEAD_FACTORS = tuple(
    math.exp(LEAD_SIGMA * NormalDist().inv_cdf((i + 0.5) / 1000)) for i in range(1000)
)
# Names with their e-mail spelling, so a new attendee costs no slug work.
_GIVEN = tuple((n, names.ascii_slug(n) or "gast") for n in names.GIVEN_NAMES)
_FAMILY = tuple((n, names.ascii_slug(n) or "kunde") for n in names.FAMILY_NAMES)


@dataclass(frozen=True, slots=True)
class TypeProfile:
    lead_median_s: float
    min_lead_s: float  # the type's minimum notice, at least an hour
    cancel_rate: float
    reschedule_rate: float
    api_share: float


@dataclass(slots=True)
class GeneratedAppointment:
    body: dict[str, Any]
    start_ts: float
    end_ts: float
    created_ts: float
    via_api: bool


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """`rng.choice` at a fraction of the cost; the hot generation loop calls it a lot."""
    return options[int(rng.random() * len(options))]


_UUID_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid(rng: random.Random) -> str:
    """A version-4 uuid drawn from `rng` (same text as `uuid.UUID(int=..., version=4)`)."""
    h = f"{rng.getrandbits(128) & _UUID_KEEP | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def type_profile(
    meeting_type: dict[str, Any], api_share: float, jitter: float = 1.0
) -> TypeProfile:
    """The booking habits of a meeting type's name; `jitter` scales its lead time."""
    name = meeting_type["meetingInfo"]["name"]
    median_days, cancel_rate, reschedule_rate = names.MEETING_TYPE_HABITS.get(
        name, names.DEFAULT_HABITS
    )
    notice_s = meeting_type["meetingOptions"].get("minimumNotice", 0) * 60.0
    return TypeProfile(
        median_days * DAY_S * jitter,
        max(MIN_LEAD_S, notice_s),
        cancel_rate,
        reschedule_rate,
        api_share,
    )


def api_share(user_type: str, booked_by_app: bool) -> float:
    """Share of a meeting type's bookings made through the API."""
    if user_type == "resource":
        return 0.0
    return metering.API_SHARE_OF_API_TYPE if booked_by_app else metering.API_SHARE_OF_PAGE_TYPE


def default_api_share(meeting_type: dict[str, Any], user_type: str) -> float:
    """`api_share` of a meeting type made after generation, from what is visible of it."""
    return api_share(user_type, user_type == "api-platform" or is_api_type(meeting_type))


def is_api_type(meeting_type: dict[str, Any]) -> bool:
    metadata = meeting_type.get("metadata") or {}
    return metadata.get(metering.METADATA_SOURCE_KEY) == metering.METADATA_API_SOURCE


def host_summary(user: dict[str, Any]) -> dict[str, Any]:
    """The host object of an appointment (always `givenName`/`familyName`)."""
    return {
        "id": user["id"],
        "email": user["email"],
        "givenName": user.get("givenName", user.get("firstname")),
        "familyName": user.get("familyName", user.get("lastname")),
        "fullName": user["fullName"],
        "slug": user["slug"],
        "picture": user["picture"],
    }


def meeting_type_summary(meeting_type: dict[str, Any]) -> dict[str, Any]:
    info = meeting_type["meetingInfo"]
    return {
        "id": meeting_type["id"],
        "slug": meeting_type["slug"],
        "meetingInfo": {"name": info["name"], "duration": info["duration"]},
        "metadata": meeting_type.get("metadata") or {},
    }


def meeting_link(rng: random.Random, channel: str) -> str | None:
    if channel == "zoom":
        return f"https://zoom.us/j/{10**10 + int(rng.random() * 9e10)}"
    if channel == "google":
        return f"https://meet.google.com/{rng.getrandbits(40):010x}"
    if channel == "teams":
        return f"https://teams.microsoft.com/l/meetup-join/{rng.getrandbits(64):016x}"
    return None


class AppointmentFactory:
    """Builds appointments one by one; shared sub-objects (hosts, meetingType) are reused.

    `build` makes a historical appointment (maybe cancelled or rescheduled) around `anchor`;
    `body` a fresh one. `rng` may be swapped (the tenant does, for bookings made later).
    """

    def __init__(
        self,
        rng: random.Random,
        users: list[dict[str, Any]],
        types_by_user: dict[str, list[dict[str, Any]]],
        profiles: dict[str, TypeProfile],
        anchor: float,
    ) -> None:
        self.rng = rng
        self.anchor = anchor
        self.first_s = anchor - HISTORY_DAYS * DAY_S
        self.last_s = anchor + FUTURE_DAYS * DAY_S
        self.company_id = users[0]["companyId"]
        self.users: list[dict[str, Any]] = []
        self.types_by_user: dict[str, list[dict[str, Any]]] = {}
        self.profiles = dict(profiles)
        self.hosts: dict[str, dict[str, Any]] = {}
        self.type_summaries: dict[str, dict[str, Any]] = {}
        self.calendar_of: dict[str, HostCalendar] = {}
        self._calendars: dict[str, HostCalendar] = {}
        self._activity: list[float] = []  # cumulative host weights, for a weighted pick
        self._regulars: dict[str, list[dict[str, Any]]] = {}
        self._people = 0
        for user in users:
            self.register(user, types_by_user.get(user["id"], []))

    def register(self, user: dict[str, Any], meeting_types: list[dict[str, Any]]) -> None:
        """Make a user (and its meeting types) available as host."""
        self.users.append(user)
        self.hosts[user["id"]] = host_summary(user)
        self.types_by_user[user["id"]] = meeting_types
        for meeting_type in meeting_types:
            self.type_summaries[meeting_type["id"]] = meeting_type_summary(meeting_type)
            if meeting_type["id"] not in self.profiles:
                share = default_api_share(meeting_type, user["userType"])
                self.profiles[meeting_type["id"]] = type_profile(meeting_type, share)
        zone = user["timezone"]
        if zone not in self._calendars:
            self._calendars[zone] = HostCalendar(zone, self.first_s, self.last_s)
        self.calendar_of[user["id"]] = self._calendars[zone]
        # How busy a host is: fixed by the id, so it does not depend on any rng.
        weight = 0.5 + int(user["id"][:8], 16) / 0xFFFFFFFF
        weight *= RESOURCE_ACTIVITY if user["userType"] == "resource" else 1.0
        self._activity.append((self._activity[-1] if self._activity else 0.0) + weight)

    def pick_host(self) -> dict[str, Any]:
        """A host, busier ones more often."""
        position = self.rng.random() * self._activity[-1]
        return self.users[min(bisect_right(self._activity, position), len(self.users) - 1)]

    def lead_s(self, meeting_type: dict[str, Any]) -> float:
        """How long before the start this booking is made (log-normal around the median)."""
        profile = self.profiles[meeting_type["id"]]
        factor = LEAD_FACTORS[int(self.rng.random() * len(LEAD_FACTORS))]
        return min(max(profile.lead_median_s * factor, profile.min_lead_s), MAX_LEAD_S)

    def build(self) -> GeneratedAppointment:
        """A historical appointment around the anchor, booked ahead by its type's lead time."""
        rng = self.rng
        host = self.pick_host()
        meeting_type = pick(rng, self.types_by_user[host["id"]])
        profile = self.profiles[meeting_type["id"]]
        lead = self.lead_s(meeting_type)
        start = self.calendar_of[host["id"]].draw(rng, self.anchor + lead)
        created = start - lead
        if created > self.anchor:  # a booking not made yet: made just before the anchor
            created = self.anchor - rng.random() * 3600
        latest_known = min(start, self.anchor)
        host_ids = [host["id"]]
        if rng.random() < MULTI_HOST_SHARE and len(self.users) > 1:
            others = [u["id"] for u in rng.sample(self.users, min(3, len(self.users)))]
            host_ids += [uid for uid in others if uid != host["id"]][: rng.randint(1, 2)]
        via_api = rng.random() < profile.api_share
        body = self.body(meeting_type, host_ids, start, created, via_api=via_api)
        updated = created
        if rng.random() < profile.cancel_rate:
            action_at = rng.uniform(created, latest_known)
            body["cancel"] = self._cancel(action_at, body, via_api)
            body["isCancelled"] = rng.random() >= CANCEL_ONLY_ACTION_AT_SHARE
            updated = action_at
        if rng.random() < profile.reschedule_rate:
            rescheduled_at = rng.uniform(created, latest_known)
            body["rescheduledAt"] = format_iso(rescheduled_at)
            body["rescheduleCount"] = pick(rng, (1, 1, 1, 2, 3))
            updated = max(updated, rescheduled_at)
        body["updatedAt"] = format_iso(updated)
        end = start + meeting_type["meetingInfo"]["duration"] * 60
        return GeneratedAppointment(body, start, end, created, via_api)

    def body(
        self,
        meeting_type: dict[str, Any],
        host_ids: list[str],
        start: float,
        created: float,
        *,
        via_api: bool,
    ) -> dict[str, Any]:
        """A confirmed appointment; API bookings may carry the notes marker."""
        rng = self.rng
        info = meeting_type["meetingInfo"]
        offset = pick(rng, names.OFFSET_MINUTES)
        link = meeting_link(rng, info["channel"])
        hosting_info: dict[str, Any] = {"meetingLink": link}
        if rng.random() >= MAIN_HOST_MISSING_SHARE:
            hosting_info["mainHost"] = host_ids[0]
        spots = meeting_type["spots"]
        attendee_count = rng.randint(2, min(spots, 6)) if spots > 1 else 1
        notes: str | None
        if via_api and rng.random() < metering.API_NOTES_MARKER_SHARE:
            notes = f"{metering.API_NOTES_MARKER} {pick(rng, names.API_NOTES)}".rstrip()
        else:
            notes = pick(rng, names.NOTES)
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
                {"id": new_uuid(rng), **self.person(host_ids[0])} for _ in range(attendee_count)
            ],
            "companyId": self.company_id,
            "location": "Friedrichstraße 12, 10117 Berlin" if info["channel"] == "local" else None,
            "notes": notes,
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
                "crmId": f"CRM-{int(rng.random() * 1e6):06d}",
            }
        elif roll < 0.05:
            body["_experimentalFlag"] = True
        return body

    def person(self, host_id: str) -> dict[str, Any]:
        """An attendee without its per-appointment `id`: often someone who booked before."""
        rng = self.rng
        regulars = self._regulars.setdefault(host_id, [])
        if regulars and rng.random() < REPEAT_BOOKER_SHARE:
            return regulars[int(rng.random() ** 2 * len(regulars))]  # a few come back a lot
        (first, first_slug), (last, last_slug) = pick(rng, _GIVEN), pick(rng, _FAMILY)
        self._people += 1
        person = {
            "email": f"{first_slug}.{last_slug}{self._people}@kunde-{int(rng.random() * 50)}.de",
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "phone": None if rng.random() < 0.5 else f"+49 151 {10**7 + int(rng.random() * 9e7)}",
            "timezone": pick(rng, names.TIMEZONES),
            "language": pick(rng, names.LANGUAGES),
        }
        if rng.random() < REGULAR_SHARE:
            regulars.append(person)
        return person

    def provisional(
        self, meeting_type: dict[str, Any], host_ids: list[str], start: float, created: float
    ) -> dict[str, Any]:
        """A booking waiting for double opt-in or host confirmation (not an appointment yet)."""
        rng = self.rng
        options = meeting_type["meetingOptions"]
        booking_type = "doubleOptIn" if options["doubleOptIn"] else "requireHostConfirmation"
        return {
            "id": new_uuid(rng),
            "bookingType": booking_type,
            "meetingTypeId": meeting_type["id"],
            "meetingType": self.type_summaries[meeting_type["id"]],
            "start": format_iso(start),
            "end": format_iso(start + meeting_type["meetingInfo"]["duration"] * 60),
            "hostIds": host_ids,
            "attendee": {"id": new_uuid(rng), **self.person(host_ids[0])},
            "companyId": self.company_id,
            "createdAt": format_iso(created),
            "expiresAt": format_iso(created + 7 * DAY_S),
        }

    def _cancel(self, action_at: float, body: dict[str, Any], via_api: bool) -> dict[str, Any]:
        rng = self.rng
        sources = ("api", "api", "attendee") if via_api else ("attendee", "attendee", "host")
        source = pick(rng, sources)
        actor = body["attendees"][0]["email"] if source == "attendee" else body["hostIds"][0]
        return {
            "actionSource": source,
            "actionAt": format_iso(action_at),
            "actionBy": actor,
            "reason": pick(rng, names.CANCEL_REASONS),
        }
