"""The simulated tenant looks like a real company, and its metering ground truth is its own."""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from meetergo_pipeline.simulator import (
    SimulatorConfig,
    Tenant,
    is_cancelled,
    score_metering,
    write_id_csv,
)
from meetergo_pipeline.simulator.isotime import parse_iso
from meetergo_pipeline.simulator.metering import API_NOTES_MARKER, has_api_trace, main_host_id

ANCHOR = "2025-06-01T12:00:00Z"


@pytest.fixture(scope="module")
def tenant() -> Tenant:
    """The default tenant `make run` serves (25 users, 5,000 appointments), at a fixed anchor."""
    return Tenant(SimulatorConfig(seed=42, users=25, appointments=5000, anchor=ANCHOR))


def main_host(tenant: Tenant, appointment: dict[str, Any]) -> dict[str, Any]:
    return tenant.users_by_id[main_host_id(appointment)]


def type_name(tenant: Tenant, appointment: dict[str, Any]) -> str:
    return tenant.meeting_types_by_id[appointment["meetingTypeId"]]["meetingInfo"]["name"]


# ---- when meetings happen -------------------------------------------------------------------


def test_meetings_fall_in_the_hosts_business_hours_mostly_on_weekdays(tenant: Tenant) -> None:
    local_starts = [
        datetime.fromtimestamp(tenant.start_of(i), ZoneInfo(main_host(tenant, a)["timezone"]))
        for i, a in tenant.appointments.items()
    ]
    in_hours = sum(8 <= start.hour < 18 for start in local_starts) / len(local_starts)
    on_weekdays = sum(start.weekday() < 5 for start in local_starts) / len(local_starts)
    assert in_hours >= 0.90 and on_weekdays >= 0.85
    assert in_hours < 1 and on_weekdays < 1  # a few early, late and weekend meetings
    assert all(start.minute % 15 == 0 for start in local_starts)
    # Hours are the host's: New York and Shanghai hosts meet at other UTC hours than Berlin's.
    utc_hours: dict[str, list[int]] = defaultdict(list)
    for i, a in tenant.appointments.items():
        zone = main_host(tenant, a)["timezone"]
        utc_hours[zone].append(datetime.fromtimestamp(tenant.start_of(i), UTC).hour)
    utc_medians = {zone: statistics.median(hours) for zone, hours in utc_hours.items()}
    assert len(set(utc_medians.values())) >= 3, utc_medians


def test_lead_times_and_cancellations_differ_by_meeting_type(tenant: Tenant) -> None:
    leads: dict[str, list[float]] = defaultdict(list)
    cancelled: dict[str, list[bool]] = defaultdict(list)
    for i, a in tenant.appointments.items():
        leads[type_name(tenant, a)].append((tenant.start_of(i) - tenant.created_of(i)) / 86400)
        cancelled[type_name(tenant, a)].append(is_cancelled(a))
    assert all(lead >= 1 / 24 for lead_list in leads.values() for lead in lead_list)
    medians = {name: statistics.median(v) for name, v in leads.items() if len(v) >= 100}
    assert len(medians) >= 5
    assert max(medians.values()) > 5 * min(medians.values()), medians
    assert medians["Quick Call"] < 2 < 10 < medians["Schulung"]  # booked tomorrow vs weeks ahead
    rates = {name: sum(v) / len(v) for name, v in cancelled.items() if len(v) >= 200}
    assert max(rates.values()) - min(rates.values()) > 0.08, rates
    assert 0.08 < sum(map(is_cancelled, tenant.appointments.values())) / 5000 < 0.16


def test_some_attendees_book_again_under_the_same_name(tenant: Tenant) -> None:
    bookings: Counter[str] = Counter()
    names: dict[str, set[str]] = defaultdict(set)
    for appointment in tenant.appointments.values():
        for attendee in appointment["attendees"]:
            bookings[attendee["email"]] += 1
            names[attendee["email"]].add(attendee["fullname"])
    repeaters = [email for email, count in bookings.items() if count > 1]
    assert len(repeaters) > 0.05 * len(bookings)
    assert max(bookings.values()) >= 5
    assert all(len(full_names) == 1 for full_names in names.values())  # one person, one name
    assert bookings.most_common(1)[0][1] < 0.02 * sum(bookings.values())


def test_reschedules_happen_between_booking_and_meeting(tenant: Tenant) -> None:
    rescheduled = [a for a in tenant.appointments.values() if a["rescheduleCount"] > 0]
    assert 0.02 * 5000 < len(rescheduled) < 0.15 * 5000
    for appointment in rescheduled:
        rescheduled_at = parse_iso(appointment["rescheduledAt"])
        assert parse_iso(appointment["createdAt"]) <= rescheduled_at
        assert rescheduled_at <= min(parse_iso(appointment["start"]), parse_iso(ANCHOR))
        assert rescheduled_at <= parse_iso(appointment["updatedAt"])


def test_same_seed_gives_the_same_tenant_and_truth() -> None:
    def make(seed: int) -> Tenant:
        return Tenant(SimulatorConfig(seed=seed, users=9, appointments=600, anchor=ANCHOR))

    first, again, other = make(3), make(3), make(4)
    assert first.appointments == again.appointments and first.users == again.users
    assert first.meeting_types == again.meeting_types
    assert first.provisional_bookings == again.provisional_bookings
    assert first.truth() == again.truth()
    assert not set(first.appointments) & set(other.appointments)
    assert first.truth().api_created_ids != other.truth().api_created_ids


# ---- metering ground truth ------------------------------------------------------------------


def test_the_default_metering_rule_errs_both_ways(tenant: Tenant) -> None:
    truth = tenant.truth()
    score = score_metering(truth.platform_hosted_ids, truth.api_created_ids)
    assert 0.6 < score.precision < 0.98 and 0.6 < score.recall < 0.98, score
    user_type = {i: main_host(tenant, a)["userType"] for i, a in tenant.appointments.items()}
    api_on_standard = [i for i in truth.api_created_ids if user_type[i] in ("standard", "partner")]
    page_on_platform = truth.platform_hosted_ids - truth.api_created_ids
    assert api_on_standard and page_on_platform
    assert score.false_negatives == len(truth.api_created_ids - truth.platform_hosted_ids)
    assert not any(user_type[i] == "resource" for i in truth.api_created_ids)


def test_api_traces_are_exact_where_present(tenant: Tenant) -> None:
    truth = tenant.truth()
    bodies = tenant.appointments
    marked = {i for i, a in bodies.items() if (a["notes"] or "").startswith(API_NOTES_MARKER)}
    assert marked <= truth.api_created_ids
    assert 0.3 * len(truth.api_created_ids) < len(marked) < 0.7 * len(truth.api_created_ids)
    assert all("metadata" in meeting_type for meeting_type in tenant.meeting_types)
    flagged = {i for i, a in bodies.items() if a["meetingType"]["metadata"].get("source") == "api"}
    assert flagged & truth.api_created_ids and flagged - truth.api_created_ids
    traced = {i for i, a in bodies.items() if has_api_trace(a)}
    score = score_metering(traced, truth.api_created_ids)
    assert score.precision > 0.9 and score.recall < 1


def test_api_created_ids_go_to_a_csv(tenant: Tenant, tmp_path: Path) -> None:
    ids = tenant.truth().api_created_ids
    path = write_id_csv(tmp_path / "created_by_our_app.csv", ids)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["appointment_id"]
    assert [row[0] for row in rows[1:]] == sorted(ids) and len(rows) == len(ids) + 1


def test_later_bookings_record_their_source() -> None:
    tenant = Tenant(SimulatorConfig(seed=8, users=10, appointments=200, anchor=ANCHOR))
    before = tenant.truth().api_created_ids
    added = set(tenant.add_random_bookings(150))
    api_added = tenant.truth().api_created_ids - before
    assert api_added and api_added < added  # the company's app and the booking pages
    meeting_type = next(m for m in tenant.meeting_types if m["userId"] == tenant.owner_id)
    page = tenant.create_booking(meeting_type["id"], "2031-01-06T09:00:00Z", via_api=False)
    app = tenant.create_booking(meeting_type["id"], "2031-01-06T11:00:00Z", notes="[api] #7")
    truth = tenant.truth()
    assert app["id"] in truth.api_created_ids and page["id"] not in truth.api_created_ids
    assert app["notes"] == "[api] #7"
    tenant.delete_appointment(app["id"])
    assert app["id"] not in tenant.truth().api_created_ids
