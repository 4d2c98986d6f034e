"""Token bucket per credential, as the API enforces 100 requests/minute with bursts to 200."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """`acquire(key)` takes one token or returns how many seconds until the next one."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.refill_per_s = per_minute / 60.0
        self.capacity = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """None when a token was taken; otherwise the wait in seconds until one is available."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.updated_at) * self.refill_per_s
            )
            bucket.updated_at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            if self.refill_per_s <= 0:
                return math.inf
            return (1.0 - bucket.tokens) / self.refill_per_s

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, rounded up, never 0 (a client honouring it must actually wait)."""
    return str(max(1, math.ceil(wait_s)))
