"""Sync the meetergo API into the raw layer, incrementally, for an API with no updated-since.

- New bookings: each user's appointments sorted by createdAt descending, read down to that
  user's high-water mark minus an overlap (a booking committed late still gets caught).
- Changes to existing bookings: a re-scan of appointments starting in
  [now - lookback, now + horizon], every `rescan_every_hours` (webhooks carry the rest).
- A full sweep reads everything and marks rows the API no longer lists with `deleted_at`.

Each user's high-water mark is committed in the same transaction as that user's last rows,
so a crash never leaves state ahead of data; rows committed before a crash are simply
upserted again by the next run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import duckdb

from meetergo_pipeline.client import MeetergoClient
from meetergo_pipeline.client.models import parse_utc
from meetergo_pipeline.client.paging import Page
from meetergo_pipeline.models import raw_api_models
from meetergo_pipeline.settings import DEFAULTS
from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.tenants import DEFAULT_TENANT
from meetergo_pipeline.warehouse.connection import ensure_raw_schema
from meetergo_pipeline.warehouse.progress import SyncProgress
from meetergo_pipeline.warehouse.raw_writer import RawEntity, RawWriter
from meetergo_pipeline.warehouse.state import SyncState
from meetergo_pipeline.warehouse.transaction import transaction

log = logging.getLogger(__name__)

SyncMode = Literal["incremental", "full"]
HWM_PREFIX = "appointments_hwm/"


@dataclass(frozen=True)
class SyncPolicy:
    """Windows and cadence of the incremental strategy (the `MEETERGO_SYNC_*` settings)."""

    lookback_days: float = DEFAULTS.sync_lookback_days
    horizon_days: float = DEFAULTS.sync_horizon_days
    overlap_minutes: float = DEFAULTS.sync_overlap_minutes
    rescan_every_hours: float = DEFAULTS.sync_rescan_every_hours
    workers: int = DEFAULTS.sync_workers
    commit_every_rows: int = DEFAULTS.sync_commit_every_rows


@dataclass
class SyncReport:
    """What one sync of one tenant (`tenant_id`) did. Per raw table (`raw.users`, ...):
    `pages` read, `rows_new` (first stored), `rows_updated` (stored rows read again, payload
    replaced) and `vanished` (rows a full sweep no longer saw, now tombstoned with
    `deleted_at`). `budget_wait_s`: seconds requests waited for the rate budget, summed over
    the worker threads."""

    run_id: str
    mode: SyncMode
    started_at: datetime
    finished_at: datetime | None = None
    requests_spent: int = 0
    rate_limited: int = 0
    rescanned: bool = False
    users_seen: int = 0
    meeting_types_seen: int = 0
    appointments_seen: int = 0
    api_user_total: int | None = None
    vanished: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    rows_new: dict[str, int] = field(default_factory=dict)
    rows_updated: dict[str, int] = field(default_factory=dict)
    budget_wait_s: float = 0.0
    tenant_id: str = DEFAULT_TENANT

    @property
    def kind(self) -> str:
        """`full sweep`, `incremental + re-scan` or `incremental`: what the run read."""
        if self.mode == "full":
            return "full sweep"
        return "incremental + re-scan" if self.rescanned else "incremental"

    def as_metadata(self) -> dict[str, object]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()
        }


def sync_api_to_raw(
    con: duckdb.DuckDBPyConnection,
    client: MeetergoClient,
    *,
    mode: SyncMode = "incremental",
    policy: SyncPolicy | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
    progress: Callable[[str], None] = log.info,
    tenant_id: str = DEFAULT_TENANT,
    standalone: bool = True,
) -> SyncReport:
    """Read one tenant's API into raw.users, raw.meeting_types and raw.appointments, as rows
    of `tenant_id`, with that tenant's sync state.

    `client` should be opened for this run: every request it sent (including resolving the
    acting user) is recorded as the run's spend in raw.sync_runs. `con` must not be inside a
    transaction: the sync commits as it goes. `progress` receives a line at least every
    `PROGRESS_EVERY_S` while pages arrive and one at the end of each phase (requests, pages,
    rows, users and the estimated time left; see `warehouse/progress.py`). `standalone`: the
    raw schema is ensured first and the file checkpointed at the end; a caller syncing many
    tenants at once does both itself, once.
    """
    policy = policy or SyncPolicy()
    started = (now or datetime.now(UTC)).astimezone(UTC)
    if standalone:
        ensure_raw_schema(con)
    if SyncState(con, tenant_id).get_time("last_full_sweep_at") is None:
        mode = "full"  # nothing to be incremental from yet: one read of everything, no re-scan
    report = SyncReport(run_id or uuid.uuid4().hex, mode, started, tenant_id=tenant_id)
    sync = EntitySync(con, client, policy, report, progress)

    user_ids = sync.users()
    last_rescan = sync.state.get_time("last_rescan_at")
    rescan_due = last_rescan is None or started - last_rescan >= timedelta(
        hours=policy.rescan_every_hours
    )
    report.rescanned = mode == "full" or rescan_due
    if report.rescanned:
        sync.meeting_types(user_ids)
    sync.new_appointments(user_ids)
    if report.rescanned and mode == "incremental":
        sync.appointments_in_window(user_ids)
    sync.finish()
    if standalone:
        con.execute("CHECKPOINT")
    return report


class EntitySync:
    """One run's reads of the API into the raw tables, one method per entity.

    Every method commits what it read in its own transactions and adds its counts to
    `report`; `finish` records the run.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        client: MeetergoClient,
        policy: SyncPolicy,
        report: SyncReport,
        progress: Callable[[str], None],
    ) -> None:
        self.con = con
        self.client = client
        self.policy = policy
        self.report = report
        self.progress = progress
        self.reporter = SyncProgress(
            progress, lambda: client.http.requests_sent, client.http.budget.per_minute
        )
        self.started = report.started_at
        self.state = SyncState(con, report.tenant_id)
        self.writer = RawWriter(con, seen_at=report.started_at, tenant_id=report.tenant_id)

    def users(self) -> list[str]:
        """Every user, in one transaction; returns their ids and keeps the API's `total`."""
        user_ids: list[str] = []

        def remember_total(total: int) -> None:
            self.report.api_user_total = total

        with transaction(self.con):
            for page in self.client.fetch_user_pages(on_total=remember_total):
                self.writer.add("users", page)
                user_ids.extend(page.ids)
            self.writer.flush()
        self.report.users_seen = len(user_ids)
        self.progress(f"users: {len(user_ids)}")
        return user_ids

    def meeting_types(self, user_ids: list[str]) -> None:
        """Every user's meeting types, in one transaction."""
        seen = 0
        pages = self.client.fetch_pages_in_parallel(
            user_ids,
            lambda user_id: iter([self.client.fetch_meeting_type_page(user_id)]),
            workers=self.policy.workers,
        )
        self.reporter.start("meeting types", len(user_ids))
        with transaction(self.con):
            for user_id, page in pages:
                if page is None:
                    self.reporter.user_done(user_id)
                    continue
                self.writer.add("meeting_types", page)
                seen += len(page)
                self.reporter.page(user_id, len(page))
            self.writer.flush()
        self.report.meeting_types_seen = seen
        self.reporter.finish()

    def new_appointments(self, user_ids: list[str]) -> None:
        """Each user's bookings since the last run; the high-water marks advance with the rows.

        A listing runs newest booking first, down to the user's high-water mark minus the
        overlap; in a full sweep it reads every booking.
        """
        marks = self.state.all_times(HWM_PREFIX) if self.report.mode == "incremental" else {}
        overlap = timedelta(minutes=self.policy.overlap_minutes)

        def fetch(user_id: str) -> Iterator[Page]:
            mark = marks.get(user_id)
            return self.client.fetch_appointment_pages(
                user_id, created_after=mark - overlap if mark else None
            )

        self.report.appointments_seen += self._appointments(
            "new appointments", user_ids, fetch, track_hwm=True
        )

    def appointments_in_window(self, user_ids: list[str]) -> None:
        """Each user's appointments starting in [now - lookback, now + horizon]."""
        start = self.started - timedelta(days=self.policy.lookback_days)
        end = self.started + timedelta(days=self.policy.horizon_days)

        def fetch(user_id: str) -> Iterator[Page]:
            return self.client.fetch_appointment_pages(
                user_id, start=start, end=end, sort_by="appointment.start", sort_direction="ASC"
            )

        self.report.appointments_seen += self._appointments(
            "appointments in the re-scan window", user_ids, fetch, track_hwm=False
        )

    def finish(self) -> None:
        """Mark what a full sweep did not see, advance the run times, record the run."""
        report = self.report
        with transaction(self.con):
            if report.mode == "full":
                report.vanished = self._mark_vanished()
                self.state.set_time("last_full_sweep_at", self.started, self.started)
            if report.rescanned:
                self.state.set_time("last_rescan_at", self.started, self.started)
            report.requests_spent = self.client.http.requests_sent
            report.rate_limited = self.client.http.rate_limited
            report.budget_wait_s = self.client.http.budget_wait_s
            report.pages = _by_table(self.writer.pages_added)
            report.rows_new = _by_table(self.writer.rows_inserted)
            report.rows_updated = _by_table(self.writer.rows_updated)
            report.finished_at = datetime.now(UTC)
            self.con.execute(
                load_sql("raw/record_sync_run.sql"),
                {
                    "run_id": report.run_id,
                    "mode": report.mode,
                    "started_at": report.started_at,
                    "finished_at": report.finished_at,
                    "requests_spent": report.requests_spent,
                    "users_seen": report.users_seen,
                    "meeting_types_seen": report.meeting_types_seen,
                    "appointments_seen": report.appointments_seen,
                    "api_user_total": report.api_user_total,
                    "tenant_id": report.tenant_id,
                },
            )

    def _appointments(
        self,
        phase: str,
        user_ids: list[str],
        fetch: Callable[[str], Iterator[Page]],
        *,
        track_hwm: bool,
    ) -> int:
        """Stream every user's listing into raw.appointments; returns the rows read.

        In createdAt-descending listings the first row of the first page is the user's newest
        booking: that is the high-water mark, written once the user's listing is complete, in
        the same transaction as the user's last rows. A transaction ends at the first user
        boundary after `policy.commit_every_rows` rows: fewer, larger commits write the WAL far
        faster than one per user, and a crash still loses at most that much progress.
        """
        listing = self.client.fetch_pages_in_parallel(user_ids, fetch, workers=self.policy.workers)
        self.reporter.start(phase, len(user_ids))
        newest: dict[str, datetime] = {}
        completed_hwms: dict[str, datetime] = {}
        rows_seen = 0
        listing_done = False
        while not listing_done:
            with transaction(self.con):
                rows_at_begin = rows_seen
                for user_id, page in listing:
                    if page is not None:
                        if track_hwm and user_id not in newest:
                            created = parse_utc(page.created_at[0])
                            if created is not None:
                                newest[user_id] = created
                        self.writer.add("appointments", page)
                        rows_seen += len(page)
                        self.reporter.page(user_id, len(page))
                        continue
                    if track_hwm and user_id in newest:
                        completed_hwms[HWM_PREFIX + user_id] = newest[user_id]
                    self.reporter.user_done(user_id)
                    if rows_seen - rows_at_begin >= self.policy.commit_every_rows:
                        break
                else:
                    listing_done = True
                self.writer.flush()
                self.state.set_times(completed_hwms, self.started)
                completed_hwms.clear()
        self.reporter.finish()
        return rows_seen

    def _mark_vanished(self) -> dict[str, int]:
        vanished: dict[str, int] = {}
        for model in raw_api_models():
            sql = load_sql("raw/mark_vanished.sql", table=model.table)
            result = self.con.execute(
                sql, {"sweep_started_at": self.started, "tenant_id": self.report.tenant_id}
            )
            vanished[model.table] = result.fetchone()[0]  # type: ignore[index]
        return vanished


def _by_table(counts: Mapping[RawEntity, int]) -> dict[str, int]:
    """Counts keyed by raw entity (`users`) keyed by qualified table (`raw.users`)."""
    return {f"raw.{entity}": count for entity, count in counts.items()}
