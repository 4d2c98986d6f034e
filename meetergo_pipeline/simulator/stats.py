"""Request counters: what the simulator was asked, by route template, and what it answered."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

NO_RESPONSE = 0  # status recorded for dropped connections


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int  # NO_RESPONSE when the connection was dropped
    route: str  # route template, e.g. "/v4/appointment/{appointment_id}"; the path if unrouted
    at: float  # wall-clock epoch seconds when the request arrived
    credential_kind: str  # "api_key" | "personal_token" | "other" | "none"


class RequestStats:
    """Thread-safe counters. `by_route[("GET", "/v4/appointment/paginated")]` etc."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_route: Counter[tuple[str, str]] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.log: list[RequestRecord] = []

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self.total += 1
            self.by_route[(record.method, record.route)] += 1
            self.status_counts[record.status] += 1
            self.log.append(record)

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route.clear()
            self.status_counts.clear()
            self.log.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """The per-request log (same list as `log`)."""
        return self.log

    def requests_for(self, path: str, **query: str) -> list[RequestRecord]:
        """Logged requests to `path` whose query contains every given key/value."""
        with self._lock:
            return [
                r
                for r in self.log
                if r.path == path and all(r.query.get(k) == v for k, v in query.items())
            ]

    def max_in_window(self, window_s: float = 60.0) -> int:
        """The most requests that arrived within any `window_s` sliding window."""
        with self._lock:
            times = sorted(r.at for r in self.log)
        best, low = 0, 0
        for high, at in enumerate(times):
            while at - times[low] > window_s:
                low += 1
            best = max(best, high - low + 1)
        return best
