"""The simulated company: its data, the ground truth about it, and thread-safe mutations.

Routes, the live-mode driver and tests all change the tenant through the methods here; each
change invalidates the cached JSON of the appointment and the affected hosts' indexes, and is
announced to listeners (the webhook dispatcher) as a `TenantEvent`.
"""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from meetergo_pipeline.simulator.appointments import DAY_S, new_uuid, pick
from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.errors import TenantError
from meetergo_pipeline.simulator.events import DeliveredEvent, TenantEvent
from meetergo_pipeline.simulator.generate import (
    GeneratedTenant,
    build_meeting_type,
    build_user,
    generate_tenant,
)
from meetergo_pipeline.simulator.index import AppointmentIndex, AppointmentQuery
from meetergo_pipeline.simulator.isotime import format_iso, parse_iso
from meetergo_pipeline.simulator.metering import main_host_id
from meetergo_pipeline.simulator.workhours import business_start_on_or_after

MAX_WEBHOOKS = 6
EventListener = Callable[[TenantEvent], None]
GENERATED: Any = object()  # create_booking's default notes: as the booking's source writes them


@dataclass(frozen=True)
class TenantTruth:
    """What a correct sync of the tenant must find.

    `api_created_ids` are the appointments (still listed) that were booked through the API,
    as recorded when each was made: the metering ground truth, independent of any rule.
    `platform_hosted_ids` are those whose main host is an api-platform user, which is what
    the pipeline's default metering rule counts; the two differ on purpose (see `metering`).
    """

    user_count: int
    meeting_type_count: int
    appointment_count: int
    cancelled_count: int
    rescheduled_count: int
    multi_host_count: int
    api_created_ids: frozenset[str]
    platform_hosted_ids: frozenset[str]
    deleted_ids: frozenset[str]
    appointment_ids: frozenset[str]
    provisional_booking_count: int


def is_cancelled(appointment: dict[str, Any]) -> bool:
    """meetergo's own rule: `isCancelled` or a `cancel.actionAt`."""
    cancel = appointment.get("cancel") or {}
    return bool(appointment.get("isCancelled")) or cancel.get("actionAt") is not None


class Tenant:
    """One meetergo company. All public methods are safe to call from any thread."""

    def __init__(
        self, config: SimulatorConfig | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or SimulatorConfig()
        self.clock = clock
        self.anchor = self.config.anchor_epoch()
        self.lock = threading.RLock()
        with _gc_paused():
            generated = generate_tenant(
                self.config.seed,
                self.config.users,
                self.config.appointments,
                self.anchor,
                self.config.legacy_user_name_share,
            )
            self._load(generated)
        self._listeners: list[EventListener] = []
        self._last_now = 0.0
        self._rng = random.Random(self.config.seed * 7919 + 1)
        # Bookings made from now on continue the generated tenant (same regulars, profiles).
        self._factory = generated.factory
        self._factory.rng = self._rng

    def _load(self, generated: GeneratedTenant) -> None:
        self.company_id = generated.company_id
        self.owner_id = generated.owner_id
        self.api_key = generated.api_key
        self.expired_api_key = generated.expired_api_key
        self.personal_token = generated.personal_token
        self.personal_token_user_id = generated.personal_token_user_id
        self.admin_personal_token = generated.admin_personal_token
        self.users_by_id: dict[str, dict[str, Any]] = {u["id"]: u for u in generated.users}
        self.meeting_types_by_id: dict[str, dict[str, Any]] = {
            m["id"]: m for m in generated.meeting_types
        }
        self.connections = generated.connections
        self.appointments: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.emitted_events: list[TenantEvent] = []
        self.delivered_events: list[DeliveredEvent] = []
        self.provisional_bookings: dict[str, dict[str, Any]] = {
            p["id"]: p for p in generated.provisional_bookings
        }
        self._api_created = {a.body["id"] for a in generated.appointments if a.via_api}
        self._deleted: set[str] = set()
        self._start_ts: dict[str, float] = {}
        self._end_ts: dict[str, float] = {}
        self._created_ts: dict[str, float] = {}
        self._meeting_type_of: dict[str, str] = {}
        self._json: dict[str, bytes] = {}
        self._index = AppointmentIndex(self._start_ts, self._created_ts, self._meeting_type_of)
        for item in generated.appointments:
            self._store(item.body, item.start_ts, item.end_ts, item.created_ts)

    # ---- reading -------------------------------------------------------------------------

    @property
    def users(self) -> list[dict[str, Any]]:
        """Every user, in creation order (a snapshot list; `users_by_id` is the live dict)."""
        with self.lock:
            return list(self.users_by_id.values())

    @property
    def meeting_types(self) -> list[dict[str, Any]]:
        """Every meeting type (a snapshot list; `meeting_types_by_id` is the live dict)."""
        with self.lock:
            return list(self.meeting_types_by_id.values())

    def truth(self) -> TenantTruth:
        with self.lock:
            bodies = self.appointments.values()
            platform = {
                u["id"] for u in self.users_by_id.values() if u["userType"] == "api-platform"
            }
            return TenantTruth(
                user_count=len(self.users_by_id),
                meeting_type_count=len(self.meeting_types_by_id),
                appointment_count=len(self.appointments),
                cancelled_count=sum(1 for a in bodies if is_cancelled(a)),
                rescheduled_count=sum(1 for a in bodies if a["rescheduleCount"] > 0),
                multi_host_count=sum(1 for a in bodies if len(a["hostIds"]) > 1),
                api_created_ids=frozenset(self._api_created - self._deleted),
                platform_hosted_ids=frozenset(
                    a["id"] for a in bodies if main_host_id(a) in platform
                ),
                deleted_ids=frozenset(self._deleted),
                appointment_ids=frozenset(self.appointments),
                provisional_booking_count=len(self.provisional_bookings),
            )

    def appointment_ids_for_user(self, user_id: str) -> list[str]:
        """The user's appointment ids (as host or co-host), sorted by start."""
        with self.lock:
            return list(self._index.ids_by_start(user_id))

    def query_appointments(self, user_id: str, query: AppointmentQuery) -> list[str]:
        """Ids matching a list query; the returned list is shared: do not modify it."""
        with self.lock:
            return self._index.query(user_id, query)

    def appointments_starting_between(self, user_id: str, low: float, high: float) -> list[str]:
        with self.lock:
            return self._index.starting_between(user_id, low, high)

    def busy_intervals(
        self, host_ids: list[str], low: float, high: float
    ) -> list[tuple[float, float]]:
        """(start, end) of the hosts' not-cancelled appointments overlapping [low, high]."""
        with self.lock:
            return [
                (self._start_ts[i], self._end_ts[i])
                for host_id in host_ids
                for i in self._index.starting_between(host_id, low - DAY_S, high)
                if self._end_ts[i] > low and not is_cancelled(self.appointments[i])
            ]

    def appointment_json(self, appointment_id: str) -> bytes:
        with self.lock:
            return self._json_bytes(appointment_id)

    def appointments_json(self, appointment_ids: list[str]) -> bytes:
        """`[a,b,...]` from cached per-appointment bytes (ids deleted meanwhile are skipped)."""
        with self.lock:
            present = (i for i in appointment_ids if i in self.appointments)
            return b"[" + b",".join(self._json_bytes(i) for i in present) + b"]"

    def now(self) -> float:
        """The tenant clock, strictly increasing so new bookings sort after older ones."""
        with self.lock:
            self._last_now = max(self.clock(), self._last_now + 0.001)
            return self._last_now

    def add_listener(self, listener: EventListener) -> None:
        with self.lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # ---- appointment mutations -----------------------------------------------------------

    def create_booking(
        self,
        meeting_type_id: str,
        start: float | str,
        host_ids: list[str] | None = None,
        attendee: dict[str, Any] | None = None,
        *,
        via_api: bool = True,
        notes: str | None = GENERATED,
    ) -> dict[str, Any]:
        """Book a slot; raises TenantError (404 unknown type/host, 400 slot-occupied).

        `via_api` records whether the booking counts as created through the API (ground
        truth); `notes` replaces the appointment's notes (default: as its source writes them).
        """
        with self.lock:
            meeting_type = self._meeting_type(meeting_type_id)
            hosts = self._hosts_for(meeting_type, host_ids)
            start_ts = parse_iso(start) if isinstance(start, str) else float(start)
            end_ts = start_ts + meeting_type["meetingInfo"]["duration"] * 60
            if self._slot_taken(hosts, start_ts, end_ts):
                raise TenantError(
                    400, "The selected time slot is no longer available", errorCode="slot-occupied"
                )
            created_ts = self.now()
            body = self._factory.body(meeting_type, hosts, start_ts, created_ts, via_api=via_api)
            body["createdAt"] = body["updatedAt"] = format_iso(created_ts)
            if attendee is not None:
                body["attendees"] = [{"id": new_uuid(self._rng), **attendee}]
            if notes is not GENERATED:
                body["notes"] = notes
            self._store(body, start_ts, end_ts, created_ts)
            if via_api:
                self._api_created.add(body["id"])
            self._emit("booking_created", body, created_ts)
            return body

    def create_provisional_booking(
        self,
        meeting_type_id: str,
        start: float | str,
        host_ids: list[str] | None = None,
        attendee: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A booking on a type that needs double opt-in or host confirmation: pending, no
        appointment and no webhook yet."""
        with self.lock:
            meeting_type = self._meeting_type(meeting_type_id)
            hosts = self._hosts_for(meeting_type, host_ids)
            start_ts = parse_iso(start) if isinstance(start, str) else float(start)
            pending = self._factory.provisional(meeting_type, hosts, start_ts, self.now())
            if attendee is not None:
                pending["attendee"] = {"id": pending["attendee"]["id"], **attendee}
            self.provisional_bookings[pending["id"]] = pending
            return pending

    def provisional_bookings_for_user(self, user_id: str) -> list[dict[str, Any]]:
        """The user's pending bookings, newest first."""
        with self.lock:
            mine = [p for p in self.provisional_bookings.values() if user_id in p["hostIds"]]
        return sorted(mine, key=lambda p: (p["createdAt"], p["id"]), reverse=True)

    def cancel_appointment(
        self,
        appointment_id: str,
        reason: str | None = None,
        action_source: str = "api",
        action_by: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            body = self._get(appointment_id)
            if is_cancelled(body):
                raise TenantError(400, "Appointment is already cancelled")
            at = self.now()
            body["isCancelled"] = True
            body["cancel"] = {
                "actionSource": action_source,
                "actionAt": format_iso(at),
                "actionBy": action_by or self.owner_id,
                "reason": reason,
            }
            body["updatedAt"] = format_iso(at)
            self._changed(appointment_id)
            self._emit("booking_cancelled", body, at)
            return body

    def remove_attendee(self, appointment_id: str, attendee_id: str) -> dict[str, Any]:
        """Take one attendee off a group appointment; the last one cancels it instead."""
        with self.lock:
            body = self._get(appointment_id)
            remaining = [a for a in body["attendees"] if a["id"] != attendee_id]
            if len(remaining) == len(body["attendees"]):
                raise TenantError(404, "Attendee not found")
            if not remaining:
                return self.cancel_appointment(appointment_id, action_source="attendee")
            body["attendees"] = remaining
            body["updatedAt"] = format_iso(self.now())
            self._changed(appointment_id)
            return body

    def reschedule_appointment(
        self, appointment_id: str, new_start: float | str, *, check_slot: bool = True
    ) -> dict[str, Any]:
        """Move an appointment (same duration); `check_slot=False` books over other meetings."""
        with self.lock:
            body = self._get(appointment_id)
            if is_cancelled(body):
                raise TenantError(400, "A cancelled appointment cannot be rescheduled")
            start_ts = parse_iso(new_start) if isinstance(new_start, str) else float(new_start)
            end_ts = start_ts + (self._end_ts[appointment_id] - self._start_ts[appointment_id])
            taken = self._slot_taken(body["hostIds"], start_ts, end_ts, ignore=appointment_id)
            if check_slot and taken:
                raise TenantError(
                    400, "The selected time slot is no longer available", errorCode="slot-occupied"
                )
            at = self.now()
            previous_start = body["start"]
            body["start"], body["end"] = format_iso(start_ts), format_iso(end_ts)
            body["rescheduledAt"] = body["updatedAt"] = format_iso(at)
            body["rescheduleCount"] += 1
            self._start_ts[appointment_id], self._end_ts[appointment_id] = start_ts, end_ts
            self._changed(appointment_id)
            self._emit("booking_rescheduled", body, at, previousStart=previous_start)
            return body

    def delete_appointment(self, appointment_id: str) -> None:
        """Remove an appointment from the API entirely (no webhook; for `deleted_at` tests)."""
        with self.lock:
            body = self._get(appointment_id)
            self._index.remove(appointment_id, body["hostIds"])
            del self.appointments[appointment_id]
            self._json.pop(appointment_id, None)
            self._deleted.add(appointment_id)

    def add_random_bookings(self, count: int) -> list[str]:
        """Book `count` free future slots now, as the booking pages and the company's
        application would (fires booking_created; the booking source is recorded)."""
        created: list[str] = []
        factory = self._factory
        with self.lock:
            while len(created) < count:
                host = factory.pick_host()
                meeting_type = pick(self._rng, factory.types_by_user[host["id"]])
                via_api = self._rng.random() < factory.profiles[meeting_type["id"]].api_share
                ahead = self.now() + DAY_S + factory.lead_s(meeting_type)
                zone = factory.calendar_of[host["id"]].zone
                start = business_start_on_or_after(zone, ahead, self._rng)
                try:
                    body = self.create_booking(
                        meeting_type["id"], start, [host["id"]], via_api=via_api
                    )
                except TenantError:
                    continue
                created.append(body["id"])
        return created

    def random_appointment_ids(self, count: int, *, upcoming_only: bool = True) -> list[str]:
        """Some not-cancelled appointment ids (for live mode and tests), from the tenant rng."""
        with self.lock:
            now = self.now()
            ids = [
                i
                for i, body in self.appointments.items()
                if not is_cancelled(body) and (not upcoming_only or self._start_ts[i] > now)
            ]
            return self._rng.sample(ids, min(count, len(ids)))

    def start_of(self, appointment_id: str) -> float:
        """Epoch seconds of the appointment's start."""
        with self.lock:
            return self._start_ts[appointment_id]

    def created_of(self, appointment_id: str) -> float:
        """Epoch seconds of the appointment's createdAt."""
        with self.lock:
            return self._created_ts[appointment_id]

    # ---- users and webhooks --------------------------------------------------------------

    def create_user(
        self,
        email: str,
        given_name: str,
        family_name: str,
        timezone: str,
        user_type: str = "api-platform",
    ) -> dict[str, Any]:
        """POST /v4/user: a user with a default meeting type; fires new_employee."""
        with self.lock:
            if any(u["email"].lower() == email.lower() for u in self.users_by_id.values()):
                raise TenantError(409, "User with this email already exists")
            at = self.now()
            user = build_user(
                self._rng, self.company_id, given_name, family_name, email, timezone, user_type, at
            )
            user["updatedAt"] = user["createdAt"]
            meeting_type = build_meeting_type(self._rng, user, "Erstgespräch", 30, 1, None, at)
            self.users_by_id[user["id"]] = user
            self.meeting_types_by_id[meeting_type["id"]] = meeting_type
            self.connections[user["id"]] = []
            self._factory.register(user, [meeting_type])
            self._emit_payload("new_employee", {"webhookType": "new_employee", **user}, at)
            return {
                "userId": user["id"],
                "availabilityId": new_uuid(self._rng),
                "meetingTypeId": meeting_type["id"],
                "bookingUrl": f"https://cal.meetergo.com/{user['slug']}/{meeting_type['slug']}",
                "companyId": self.company_id,
            }

    def add_webhook(
        self, endpoint: str, event_types: list[str], description: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            if len(self.webhooks) >= MAX_WEBHOOKS:
                raise TenantError(406, f"A company can register at most {MAX_WEBHOOKS} webhooks")
            webhook_id = new_uuid(self._rng)
            webhook = {
                "id": webhook_id,
                "endpoint": endpoint,
                "description": description,
                "eventTypes": list(event_types),
                "companyId": self.company_id,
                "createdAt": format_iso(self.now()),
            }
            self.webhooks[webhook_id] = webhook
            return webhook

    def remove_webhook(self, webhook_id: str) -> None:
        with self.lock:
            if self.webhooks.pop(webhook_id, None) is None:
                raise TenantError(404, "Webhook not found")

    # ---- internals -----------------------------------------------------------------------

    def _store(self, body: dict[str, Any], start: float, end: float, created: float) -> None:
        appointment_id = body["id"]
        self.appointments[appointment_id] = body
        self._start_ts[appointment_id] = start
        self._end_ts[appointment_id] = end
        self._created_ts[appointment_id] = created
        self._meeting_type_of[appointment_id] = body["meetingTypeId"]
        self._index.add(appointment_id, body["hostIds"])

    def _meeting_type(self, meeting_type_id: str) -> dict[str, Any]:
        meeting_type = self.meeting_types_by_id.get(meeting_type_id)
        if meeting_type is None:
            raise TenantError(404, "Meeting type not found")
        return meeting_type

    def _hosts_for(self, meeting_type: dict[str, Any], host_ids: list[str] | None) -> list[str]:
        hosts = list(host_ids) if host_ids else [meeting_type["userId"]]
        unknown = [h for h in hosts if h not in self.users_by_id]
        if unknown:
            raise TenantError(400, [f"hostIds contains an unknown user: {unknown[0]}"])
        return hosts

    def _get(self, appointment_id: str) -> dict[str, Any]:
        body = self.appointments.get(appointment_id)
        if body is None:
            raise TenantError(404, "Appointment not found")
        return body

    def _changed(self, appointment_id: str) -> None:
        self._json.pop(appointment_id, None)
        self._index.touch(self.appointments[appointment_id]["hostIds"])

    def _json_bytes(self, appointment_id: str) -> bytes:
        cached = self._json.get(appointment_id)
        if cached is None:
            body = self.appointments[appointment_id]
            cached = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            self._json[appointment_id] = cached
        return cached

    def _slot_taken(
        self, host_ids: list[str], start: float, end: float, ignore: str | None = None
    ) -> bool:
        for host_id in host_ids:
            for other in self._index.starting_between(host_id, start - DAY_S, end - 1):
                if other == ignore or is_cancelled(self.appointments[other]):
                    continue
                if self._start_ts[other] < end and self._end_ts[other] > start:
                    return True
        return False

    def _emit(self, webhook_type: str, body: dict[str, Any], at: float, **extra: Any) -> None:
        snapshot = json.loads(self._json_bytes(body["id"]))
        self._emit_payload(webhook_type, {"webhookType": webhook_type, **snapshot, **extra}, at)

    def _emit_payload(self, webhook_type: str, payload: dict[str, Any], at: float) -> None:
        event = TenantEvent(webhook_type, payload, at)
        self.emitted_events.append(event)
        for listener in self._listeners:
            listener(event)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk generation creates millions of objects; cyclic GC passes only slow it down."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
