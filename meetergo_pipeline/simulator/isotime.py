"""ISO 8601 formatting and parsing as the meetergo API writes it.

The API mixes `2025-03-04T09:30:00.000Z` with offsets like `2025-03-04T10:30:00+01:00`; both
name the same instant. Internally the simulator keeps epoch seconds (UTC floats).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

_OFFSET_ZONES: dict[int, timezone] = {}


def format_iso(epoch_s: float, offset_minutes: int = 0) -> str:
    """Format an instant; offset 0 gives `...000Z`, anything else `+HH:MM` without millis."""
    if offset_minutes == 0:
        return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    zone = _OFFSET_ZONES.get(offset_minutes)
    if zone is None:
        zone = _OFFSET_ZONES.setdefault(offset_minutes, timezone(timedelta(minutes=offset_minutes)))
    return datetime.fromtimestamp(epoch_s, zone).isoformat(timespec="seconds")


def parse_iso(text: str) -> float:
    """Parse ISO 8601 (`Z`, offsets, or a bare date taken as UTC) into epoch seconds.

    Raises ValueError for anything else, which routes turn into a 400.
    """
    moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def utc_now_truncated_to_hour() -> float:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp()
