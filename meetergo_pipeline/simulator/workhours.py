"""When meetings happen: start times in a host's business hours, in the host's time zone.

A `HostCalendar` lists, once per time zone, the epoch of local midnight of every day in the
generation window (weekdays and weekend days apart); drawing a start is then a few random
numbers and one bisect. Most starts fall on weekdays between 08:00 and 18:00 local time,
peaking mid-morning and early afternoon; a few are early, late or on a weekend.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_S = 86_400.0
WEEKEND_SHARE = 0.04
OFF_HOURS_SHARE = 0.04
BUSINESS_HOURS = (8, 18)  # local [start, end) hours of a working day


def _quarters(hour_weights: dict[int, int]) -> tuple[int, ...]:
    """Seconds after local midnight of quarter-hour starts, each hour repeated by weight."""
    return tuple(
        hour * 3600 + quarter * 900
        for hour, weight in hour_weights.items()
        for quarter in range(4)
        for _ in range(weight)
    )


# Meetings cluster mid-morning and early afternoon, and thin out at lunch and after 16:00.
WORKDAY_STARTS = _quarters({8: 2, 9: 5, 10: 7, 11: 6, 12: 2, 13: 4, 14: 6, 15: 5, 16: 3, 17: 1})
OFF_HOURS_STARTS = _quarters({7: 2, 18: 2, 19: 1})


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or UTC for a missing or unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class HostCalendar:
    """Local days of one time zone between two instants, for drawing meeting starts."""

    def __init__(self, zone_name: str | None, first_s: float, last_s: float) -> None:
        self.zone = zone_or_utc(zone_name)
        self.weekdays: list[float] = []
        self.weekend: list[float] = []
        day = datetime.fromtimestamp(first_s, self.zone).date()
        last = datetime.fromtimestamp(last_s, self.zone).date()
        while day <= last:
            (self.weekend if day.weekday() >= 5 else self.weekdays).append(
                _local_midnight(day, self.zone)
            )
            day += timedelta(days=1)

    def draw(self, rng: random.Random, latest_s: float) -> float:
        """A start on a day whose local midnight is at most `latest_s` (any day if none is)."""
        days = self.weekend if rng.random() < WEEKEND_SHARE else self.weekdays
        days = days or self.weekdays or self.weekend
        high = bisect_right(days, latest_s) or len(days)
        base = days[int(rng.random() * high)]
        starts = OFF_HOURS_STARTS if rng.random() < OFF_HOURS_SHARE else WORKDAY_STARTS
        return base + starts[int(rng.random() * len(starts))]


def business_start_on_or_after(zone: ZoneInfo, at_s: float, rng: random.Random) -> float:
    """A business-hours start on the first weekday whose local date is on or after `at_s`'s.

    The start may fall earlier in that day than `at_s` itself.
    """
    day = datetime.fromtimestamp(at_s, zone).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return _local_midnight(day, zone) + WORKDAY_STARTS[int(rng.random() * len(WORKDAY_STARTS))]


def _local_midnight(day: date, zone: ZoneInfo) -> float:
    """Local midnight by the day's noon offset: exact for every time after a DST switch,
    which happens in the small hours."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
    return noon.timestamp() - 12 * 3600
