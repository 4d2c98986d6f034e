"""MeetergoClient: the endpoints the pipeline reads, each in its own pagination style."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from meetergo_pipeline import stop
from meetergo_pipeline.client.http import MeetergoHTTP
from meetergo_pipeline.client.models import decode_page, parse_utc, to_api_time
from meetergo_pipeline.client.paging import Page, Row, iter_consistent_pages
from meetergo_pipeline.settings import DEFAULTS

PAGE_SIZE = 100
SHUTDOWN_WAIT_S = 2.0  # how long a listing that ends early waits for requests in flight
_HAND_OVER_POLL_S = 0.1


class MeetergoClient:
    """Reads users, meeting types and appointments; writes bookings and users.

    With a platform API key every call acts as a user through `x-meetergo-api-user-id`
    (`acting_user_id`, the admin, unless a call names another user). A personal access token
    acts as its owner only and never sends that header (naming anyone else is refused), so
    per-user listings name their user with the `userId` query parameter instead, which the
    API honours for admins: a company admin's token reads the same tables as an API key.
    """

    def __init__(self, http: MeetergoHTTP, acting_user_id: str | None = None) -> None:
        self.http = http
        self.acting_user_id = acting_user_id

    @property
    def uses_api_key(self) -> bool:
        return self.http.credential_kind == "api_key"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MeetergoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_me(self) -> Row:
        """The acting user (the company owner for an API key without an acting user; the
        token's owner for a personal access token)."""
        return self.http.request("GET", "/v4/user/me", acting_user_id=self._actor(None))

    def fetch_user_pages(
        self, user_type: str | None = None, on_total: Callable[[int], None] | None = None
    ) -> Iterator[Page]:
        """`GET /v4/user`: offset paging, admin only, `{users, total, count, offset}`.

        `on_total` receives the server's `total` (for the row-count sanity check).
        """

        def fetch(page_number: int) -> Page:
            params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": page_number * PAGE_SIZE}
            if user_type:
                params["userType"] = user_type
            page = self._get_page("/v4/user", "users", params, self._actor(None))
            if on_total is not None and page.total is not None:
                on_total(page.total)
            return page

        return iter_consistent_pages(fetch, PAGE_SIZE)

    def fetch_meeting_type_page(self, user_id: str) -> Page:
        """`GET /v4/meeting-type`: `user_id`'s meeting types, a bare array, unpaged."""
        return self._get_page(
            "/v4/meeting-type", None, self._user_param(user_id), self._actor(user_id)
        )

    def list_meeting_types(self, user_id: str) -> list[Row]:
        return self.fetch_meeting_type_page(user_id).rows()

    def fetch_appointment_pages(
        self,
        user_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        sort_by: str = "appointment.createdAt",
        sort_direction: str = "DESC",
        created_after: datetime | None = None,
    ) -> Iterator[Page]:
        """`GET /v4/appointment/paginated` for one user: 0-based `page` + `pageSize`.

        `start`/`end` bound the appointment start time. With `created_after` (and createdAt
        descending) the listing stops after the first page reaching older bookings.
        """
        params: dict[str, Any] = {"pageSize": PAGE_SIZE, "sortBy": sort_by}
        params["sortDirection"] = sort_direction
        params.update(self._user_param(user_id) or {})
        if start is not None:
            params["start"] = to_api_time(start)
        if end is not None:
            params["end"] = to_api_time(end)

        def fetch(page_number: int) -> Page:
            return self._get_page(
                "/v4/appointment/paginated",
                "appointments",
                {**params, "page": page_number},
                self._actor(user_id),
            )

        stop_after = None
        if created_after is not None:
            threshold = created_after.astimezone(UTC).isoformat()

            def stop_after(page: Page) -> bool:
                return any(_utc_iso(created) < threshold for created in page.created_at)

        return iter_consistent_pages(fetch, PAGE_SIZE, stop_after=stop_after)

    def get_appointment(self, appointment_id: str, user_id: str | None = None) -> Row:
        return self.http.request(
            "GET", f"/v4/appointment/{appointment_id}", acting_user_id=self._actor(user_id)
        )

    def list_calendar_connections(self, user_id: str) -> list[Row]:
        """`GET /v4/calendar-connections/connections`: `{connections, total}`."""
        body = self.http.request(
            "GET", "/v4/calendar-connections/connections", acting_user_id=self._actor(user_id)
        )
        return body.get("connections") or []

    def create_booking(self, booking: dict[str, Any], user_id: str | None = None) -> Row:
        """`POST /v4/booking`; never retried except on 429 (no idempotency keys)."""
        return self.http.request(
            "POST", "/v4/booking", json=booking, acting_user_id=self._actor(user_id)
        )

    def create_user(self, user: dict[str, Any]) -> Row:
        """`POST /v4/user` (acts as the company owner)."""
        return self.http.request("POST", "/v4/user", json=user)

    def list_webhooks(self) -> list[Row]:
        """`GET /webhooks`: the company's webhook registrations, a bare array."""
        body = self.http.request("GET", "/webhooks", acting_user_id=self._actor(None))
        return list(body) if isinstance(body, list) else []

    def register_webhook(
        self, endpoint: str, event_types: Iterable[str], description: str | None = None
    ) -> Row:
        """`POST /webhooks {endpoint, eventTypes, description}`: the new registration
        `{id, endpoint, description, eventTypes, companyId, createdAt}`. Never re-sent except
        after a 429; a company's 7th registration is refused with 406."""
        registration: dict[str, Any] = {"endpoint": endpoint, "eventTypes": list(event_types)}
        if description is not None:
            registration["description"] = description
        return self.http.request(
            "POST", "/webhooks", json=registration, acting_user_id=self._actor(None)
        )

    def unregister_webhook(self, webhook_id: str) -> Row:
        """`DELETE /webhooks/{id}`: the registration removed (404 when there is none)."""
        return self.http.request(
            "DELETE", f"/webhooks/{webhook_id}", acting_user_id=self._actor(None)
        )

    def fetch_pages_in_parallel(
        self,
        user_ids: Iterable[str],
        fetch: Callable[[str], Iterator[Page]],
        *,
        workers: int = DEFAULTS.sync_workers,
        max_buffered: int = 64,
    ) -> Iterator[tuple[str, Page | None]]:
        """Run `fetch(user_id)` (a page iterator) for many users on `workers` threads.

        Yields `(user_id, page)` for every page and `(user_id, None)` once that user's
        listing is complete; users are started in the order given. Pages come back through
        a queue of `max_buffered` pages (about 10 MB of appointment bodies at the default),
        so memory stays flat however large the tenant, while the fetchers keep working
        during the consumer's DuckDB writes; every thread draws from the same RateBudget.

        When the consumer stops early (an error, a stop request, or it closes the
        iterator) the workers are cancelled: a budget wait or backoff ends at once, no
        further request is sent and users not yet started are dropped. The consumer waits
        at most `SHUTDOWN_WAIT_S` for requests already in flight; the workers are daemon
        threads, so one stuck in a request never holds the process up.
        """
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for user_id in user_ids:
            todo.put(user_id)
        remaining = todo.qsize()
        pages: queue.Queue[Any] = queue.Queue(maxsize=max_buffered)
        cancelled = threading.Event()

        def hand_over(item: Any) -> bool:
            while not stop.stop_requested():  # this listing cancelled, or the process stopping
                with contextlib.suppress(queue.Full):
                    pages.put(item, timeout=_HAND_OVER_POLL_S)
                    return True
            return False

        def pump(user_id: str) -> bool:
            try:
                for page in fetch(user_id):
                    if not hand_over((user_id, page)):
                        return False
            except BaseException as exc:  # handed to the consumer, which re-raises it
                hand_over(exc)
                return False
            return hand_over((user_id, None))

        def work() -> None:
            with stop.cancel_scope(cancelled):
                while not cancelled.is_set():
                    try:
                        user_id = todo.get_nowait()
                    except queue.Empty:
                        return
                    if not pump(user_id):
                        return

        threads = [
            threading.Thread(target=work, name=f"meetergo-{n}", daemon=True)
            for n in range(max(1, min(workers, remaining)))
        ]
        for thread in threads:
            thread.start()
        try:
            while remaining:
                stop.raise_if_stopped()
                try:
                    item = pages.get(timeout=_HAND_OVER_POLL_S)
                except queue.Empty:
                    continue
                if isinstance(item, BaseException):
                    raise item
                if item[1] is None:
                    remaining -= 1
                yield item
        finally:
            cancelled.set()
            deadline = time.monotonic() + SHUTDOWN_WAIT_S
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _get_page(
        self,
        path: str,
        rows_key: str | None,
        params: dict[str, Any] | None,
        acting_user_id: str | None,
    ) -> Page:
        return self.http.request(
            "GET",
            path,
            params=params,
            acting_user_id=acting_user_id,
            decode=lambda body: decode_page(body, rows_key),
        )

    def _actor(self, user_id: str | None) -> str | None:
        """The acting-user header: API keys only (a personal access token acts as itself)."""
        if self.uses_api_key:
            return user_id or self.acting_user_id
        return None

    def _user_param(self, user_id: str) -> dict[str, str] | None:
        """`userId` for a personal access token, which cannot switch users by header."""
        return None if self.uses_api_key else {"userId": user_id}


def _utc_iso(value: Any) -> str:
    """Normalise an API timestamp (`Z` or offset) to a comparable UTC ISO string."""
    parsed = parse_utc(value)
    return parsed.isoformat() if parsed else ""
