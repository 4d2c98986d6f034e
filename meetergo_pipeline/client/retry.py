"""When and how long to wait before re-sending a request."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date).

    Returns None when the header is absent, unparsable or not positive, so that the caller
    falls back to exponential backoff instead of retrying in a tight loop.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return seconds if seconds > 0 else None


def backoff_seconds(
    attempt: int, *, base_s: float = 1.0, cap_s: float = 60.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter for retry number `attempt` (1-based), never below 1 s.

    The jitter is added on top of the doubled base, so successive waits grow even when
    randomised, and concurrent workers that failed together do not retry together.
    """
    step = min(cap_s, base_s * 2 ** (attempt - 1))
    jitter = (rng or random).uniform(0, step / 2)
    return max(1.0, min(cap_s, step + jitter))
