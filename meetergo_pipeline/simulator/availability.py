"""`GET /v4/booking-availability`: the bookable starts of a meeting type in a date range.

Every host works Monday to Friday, 09:00-17:00 in the answer's time zone (the `timezone`
parameter, else the first host's). Candidate starts step by the meeting's duration; a start
is offered when it is at least the type's minimum notice ahead and every host is free
(cancelled appointments do not block). Queue types are answered for the type's owner.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from meetergo_pipeline.simulator.errors import TenantError
from meetergo_pipeline.simulator.isotime import format_iso
from meetergo_pipeline.simulator.workhours import zone_or_utc

if TYPE_CHECKING:
    from meetergo_pipeline.simulator.tenant import Tenant

WORKING_HOURS = (9, 17)
MAX_RANGE_DAYS = 62


def booking_availability(
    tenant: Tenant,
    meeting_type_id: str,
    range_start: float,
    range_end: float,
    host_ids: list[str] | None,
    timezone: str | None,
) -> dict[str, Any]:
    """`{timezone, timeframes, dates: [{date, spots: [{startTime, endTime}]}],
    earliestAvailableDate}` for the range; TenantError for a bad range or unknown ids."""
    if range_end < range_start:
        raise TenantError(400, ["end must be after start"])
    if range_end - range_start > MAX_RANGE_DAYS * 86_400:
        raise TenantError(
            400, [f"the range from start to end must not exceed {MAX_RANGE_DAYS} days"]
        )
    with tenant.lock:
        meeting_type = tenant.meeting_types_by_id.get(meeting_type_id)
        if meeting_type is None:
            raise TenantError(404, "Meeting type not found")
        hosts = list(host_ids or [meeting_type["userId"]])
        if any(h not in tenant.users_by_id for h in hosts):
            raise TenantError(404, "Host not found")
        zone_name = timezone or tenant.users_by_id[hosts[0]]["timezone"]
        busy = tenant.busy_intervals(hosts, range_start, range_end)
        earliest = tenant.now() + meeting_type["meetingOptions"].get("minimumNotice", 0) * 60
    zone = zone_or_utc(zone_name)
    step = meeting_type["meetingInfo"]["duration"] * 60
    dates: list[dict[str, Any]] = []
    timeframes: list[dict[str, str]] = []
    day = datetime.fromtimestamp(range_start, zone).date()
    while day <= datetime.fromtimestamp(range_end, zone).date():
        if day.weekday() < 5:
            opens, closes = (_local(day, hour, zone) for hour in WORKING_HOURS)
            timeframes.append({"start": format_iso(opens), "end": format_iso(closes)})
            spots = [
                {"startTime": format_iso(start), "endTime": format_iso(start + step)}
                for start in _starts(opens, closes, step)
                if range_start <= start <= range_end
                and start >= earliest
                and not any(low < start + step and high > start for low, high in busy)
            ]
            if spots:
                dates.append({"date": day.isoformat(), "spots": spots})
        day += timedelta(days=1)
    return {
        "timezone": zone.key,
        "timeframes": timeframes,
        "dates": dates,
        "earliestAvailableDate": dates[0]["date"] if dates else None,
    }


def _local(day: date, hour: int, zone: Any) -> float:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp()


def _starts(opens: float, closes: float, step: float) -> list[float]:
    count = int((closes - opens) // step)
    return [opens + index * step for index in range(count)]
