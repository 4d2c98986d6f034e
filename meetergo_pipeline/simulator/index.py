"""Per-host appointment indexes, so that serving a page never re-sorts or re-filters.

Each host gets id lists sorted by start and by createdAt, built on first use and dropped when
one of the host's appointments changes. Filtered query results are cached per host as well,
so paging through one query costs a slice per page.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field

SORT_BY_START = "appointment.start"
SORT_BY_CREATED_AT = "appointment.createdAt"


@dataclass(frozen=True)
class AppointmentQuery:
    """The filters of GET /v4/appointment/paginated; `start`/`end` bound the start, inclusive."""

    start_from: float | None = None
    start_to: float | None = None
    meeting_type_id: str | None = None
    sort_by: str = SORT_BY_START
    descending: bool = False


@dataclass
class _HostIndex:
    by_start: list[str]
    start_keys: list[float]
    by_created: list[str]
    results: dict[AppointmentQuery, list[str]] = field(default_factory=dict)


class AppointmentIndex:
    """Host → appointment ids, with lazily built sorted views. Callers hold the tenant lock."""

    def __init__(
        self,
        start_ts: dict[str, float],
        created_ts: dict[str, float],
        meeting_type_of: dict[str, str],
    ) -> None:
        self._start_ts = start_ts
        self._created_ts = created_ts
        self._meeting_type_of = meeting_type_of
        self._ids_by_host: dict[str, set[str]] = defaultdict(set)
        self._views: dict[str, _HostIndex] = {}

    def add(self, appointment_id: str, host_ids: list[str]) -> None:
        for host_id in host_ids:
            self._ids_by_host[host_id].add(appointment_id)
            self._views.pop(host_id, None)

    def remove(self, appointment_id: str, host_ids: list[str]) -> None:
        for host_id in host_ids:
            self._ids_by_host[host_id].discard(appointment_id)
            self._views.pop(host_id, None)

    def touch(self, host_ids: list[str]) -> None:
        """Forget the sorted views of hosts whose appointments changed times or states."""
        for host_id in host_ids:
            self._views.pop(host_id, None)

    def ids_by_start(self, host_id: str) -> list[str]:
        return self._view(host_id).by_start

    def starting_between(self, host_id: str, start_from: float, start_to: float) -> list[str]:
        view = self._view(host_id)
        low = bisect_left(view.start_keys, start_from)
        high = bisect_right(view.start_keys, start_to)
        return view.by_start[low:high]

    def query(self, host_id: str, query: AppointmentQuery) -> list[str]:
        view = self._view(host_id)
        cached = view.results.get(query)
        if cached is None:
            cached = self._run(view, query)
            view.results[query] = cached
        return cached

    def _run(self, view: _HostIndex, query: AppointmentQuery) -> list[str]:
        if query.sort_by == SORT_BY_START:
            low = 0 if query.start_from is None else bisect_left(view.start_keys, query.start_from)
            high = (
                len(view.start_keys)
                if query.start_to is None
                else bisect_right(view.start_keys, query.start_to)
            )
            ids = view.by_start[low:high]
        else:
            ids = view.by_created
            if query.start_from is not None or query.start_to is not None:
                earliest = float("-inf") if query.start_from is None else query.start_from
                latest = float("inf") if query.start_to is None else query.start_to
                ids = [i for i in ids if earliest <= self._start_ts[i] <= latest]
        if query.meeting_type_id is not None:
            ids = [i for i in ids if self._meeting_type_of[i] == query.meeting_type_id]
        return ids[::-1] if query.descending else list(ids)

    def _view(self, host_id: str) -> _HostIndex:
        view = self._views.get(host_id)
        if view is None:
            ids = self._ids_by_host.get(host_id, set())
            by_start = sorted(ids, key=lambda i: (self._start_ts[i], i))
            view = _HostIndex(
                by_start=by_start,
                start_keys=[self._start_ts[i] for i in by_start],
                by_created=sorted(ids, key=lambda i: (self._created_ts[i], i)),
            )
            self._views[host_id] = view
        return view
