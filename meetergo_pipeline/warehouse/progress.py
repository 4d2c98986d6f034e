"""Progress lines of a long sync: requests, pages, rows, users and the time left.

A phase of the sync (meeting types, new appointments, the re-scan window) reads every user's
listing; `SyncProgress` is told of each page and each finished user and writes a line when
`every_s` has passed since its last one (measured on a monotonic clock, injectable for tests),
and one when the phase ends. The time left is the requests still expected (users remaining x
the mean pages a finished user took, less the pages already read for users in flight) at the
rate the sync gets: the budget's rate, or the rate seen so far in the phase if that is lower.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PROGRESS_EVERY_S = 15.0


class SyncProgress:
    """Time-based progress reporting for one sync (see the module docstring)."""

    def __init__(
        self,
        emit: Callable[[str], None],
        requests_sent: Callable[[], int],
        budget_per_minute: float,
        *,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._requests_sent = requests_sent
        self._budget_per_s = budget_per_minute / 60.0
        self._every_s = every_s
        self._clock = clock
        self.start("sync", 0)

    def start(self, phase: str, users: int) -> None:
        """Begin a phase over `users` users; the interval restarts with it."""
        self.phase = phase
        self.users = users
        self.users_done = 0
        self.pages = 0
        self.rows = 0
        self._pages_of_done_users = 0
        self._pages_in_flight: dict[str, int] = {}
        self._started = self._last_line = self._clock()
        self._requests_at_start = self._requests_sent()

    def page(self, user_id: str, rows: int) -> None:
        """A page of `rows` rows of `user_id`'s listing was read."""
        self.pages += 1
        self.rows += rows
        self._pages_in_flight[user_id] = self._pages_in_flight.get(user_id, 0) + 1
        self._report_if_due()

    def user_done(self, user_id: str) -> None:
        """`user_id`'s listing is complete."""
        self.users_done += 1
        self._pages_of_done_users += self._pages_in_flight.pop(user_id, 0)
        self._report_if_due()

    def finish(self) -> None:
        """The phase ended: always one line."""
        self._report()

    def seconds_left(self) -> float | None:
        """The phase's estimated time left, None until a user has finished."""
        if self.users_done == 0:
            return None
        remaining_users = self.users - self.users_done
        mean_pages = self._pages_of_done_users / self.users_done
        in_flight = sum(self._pages_in_flight.values())
        requests_left = max(0.0, remaining_users * mean_pages - in_flight)
        rate = self._budget_per_s
        elapsed = self._clock() - self._started
        requests = self._requests_sent() - self._requests_at_start
        if elapsed > 0 and requests > 0:
            rate = min(rate, requests / elapsed)
        return requests_left / rate

    def line(self) -> str:
        """The progress line as of now."""
        requests = self._requests_sent() - self._requests_at_start
        text = (
            f"{self.phase}: {self.users_done}/{self.users} users, {self.pages} pages, "
            f"{self.rows} rows, {requests} requests"
        )
        left = self.seconds_left()
        if left is not None and self.users_done < self.users:
            text += f", about {_duration(left)} left"
        return text

    def _report_if_due(self) -> None:
        if self._clock() - self._last_line >= self._every_s:
            self._report()

    def _report(self) -> None:
        self._last_line = self._clock()
        self._emit(self.line())


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
