"""Sync the meetergo API into the raw layer, incrementally, for an API with no updated-since.

- New bookings: each user's appointments sorted by createdAt descending, read down to that
  user's high-water mark minus an overlap (a booking committed late still gets caught).
- Changes to existing bookings: a re-scan of appointments starting in
  [now - lookback, now + horizon], every `rescan_every_hours` (webhooks carry the rest).
- A full sweep reads everything and marks rows the API no longer lists with `deleted_at`.

Each user's high-water mark is committed in the same transaction as that user's rows, so a
crash never leaves state ahead of data; rows committed before a crash are simply upserted
again by the next run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import duckdb

from meetergo_pipeline.client import MeetergoClient
from meetergo_pipeline.client.models import parse_utc
from meetergo_pipeline.client.paging import Page
from meetergo_pipeline.settings import DEFAULTS
from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.warehouse.connection import ensure_raw_schema
from meetergo_pipeline.warehouse.raw_writer import RawWriter
from meetergo_pipeline.warehouse.state import SyncState

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
) -> SyncReport:
    """Read the API into raw.users, raw.meeting_types and raw.appointments.

    `client` should be opened for this run: every request it sent (including resolving the
    acting user) is recorded as the run's spend in raw.sync_runs.
    """
    policy = policy or SyncPolicy()
    started = (now or datetime.now(UTC)).astimezone(UTC)
    ensure_raw_schema(con)
    state = SyncState(con)
    if state.get_time("last_full_sweep_at") is None:
        mode = "full"  # nothing to be incremental from yet: one read of everything, no re-scan
    report = SyncReport(run_id or uuid.uuid4().hex, mode, started)
    writer = RawWriter(con, seen_at=started)

    con.begin()
    user_ids = _sync_users(client, writer, report)
    con.commit()
    report.users_seen = len(user_ids)
    progress(f"users: {len(user_ids)}")

    last_rescan = state.get_time("last_rescan_at")
    rescan_due = last_rescan is None or started - last_rescan >= timedelta(
        hours=policy.rescan_every_hours
    )
    report.rescanned = mode == "full" or rescan_due
    if report.rescanned:
        con.begin()
        report.meeting_types_seen = _sync_meeting_types(client, writer, user_ids, policy)
        con.commit()
        progress(f"meeting types: {report.meeting_types_seen}")

    hwms = state.all_times(HWM_PREFIX)
    overlap = timedelta(minutes=policy.overlap_minutes)

    def new_bookings(user_id: str) -> Iterator[Page]:
        mark = hwms.get(user_id) if mode == "incremental" else None
        return client.fetch_appointment_pages(
            user_id, created_after=mark - overlap if mark else None
        )

    report.appointments_seen = _sync_appointments(
        con,
        client,
        writer,
        state,
        user_ids,
        new_bookings,
        policy,
        started,
        progress,
        track_hwm=True,
    )
    if report.rescanned and mode == "incremental":
        window_start = started - timedelta(days=policy.lookback_days)
        window_end = started + timedelta(days=policy.horizon_days)

        def window(user_id: str) -> Iterator[Page]:
            return client.fetch_appointment_pages(
                user_id,
                start=window_start,
                end=window_end,
                sort_by="appointment.start",
                sort_direction="ASC",
            )

        report.appointments_seen += _sync_appointments(
            con,
            client,
            writer,
            state,
            user_ids,
            window,
            policy,
            started,
            progress,
            track_hwm=False,
        )

    con.begin()
    if mode == "full":
        report.vanished = _mark_vanished(con, started)
        state.set_time("last_full_sweep_at", started, started)
    if report.rescanned:
        state.set_time("last_rescan_at", started, started)
    report.requests_spent = client.http.requests_sent
    report.rate_limited = client.http.rate_limited
    report.finished_at = datetime.now(UTC)
    con.execute(
        """
        INSERT INTO raw.sync_runs
        SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?,
            (SELECT count(*) FROM raw.users WHERE deleted_at IS NULL),
            (SELECT count(*) FROM raw.appointments WHERE deleted_at IS NULL)
        """,
        [
            report.run_id,
            mode,
            started,
            report.finished_at,
            report.requests_spent,
            report.users_seen,
            report.meeting_types_seen,
            report.appointments_seen,
            report.api_user_total,
        ],
    )
    con.commit()
    con.execute("CHECKPOINT")
    return report


def _sync_users(client: MeetergoClient, writer: RawWriter, report: SyncReport) -> list[str]:
    user_ids: list[str] = []

    def remember_total(total: int) -> None:
        report.api_user_total = total

    for page in client.fetch_user_pages(on_total=remember_total):
        writer.add("users", page)
        user_ids.extend(page.ids)
    writer.flush()
    return user_ids


def _sync_meeting_types(
    client: MeetergoClient, writer: RawWriter, user_ids: list[str], policy: SyncPolicy
) -> int:
    seen = 0
    pages = client.fetch_pages_in_parallel(
        user_ids,
        lambda user_id: iter([client.fetch_meeting_type_page(user_id)]),
        workers=policy.workers,
    )
    for _user_id, page in pages:
        if page is not None:
            writer.add("meeting_types", page)
            seen += len(page)
    writer.flush()
    return seen


def _sync_appointments(
    con: duckdb.DuckDBPyConnection,
    client: MeetergoClient,
    writer: RawWriter,
    state: SyncState,
    user_ids: list[str],
    fetch: Callable[[str], Iterator[Page]],
    policy: SyncPolicy,
    started: datetime,
    progress: Callable[[str], None],
    *,
    track_hwm: bool,
) -> int:
    """Stream every user's listing into raw.appointments.

    In createdAt-descending listings the first row of the first page is the user's newest
    booking: that is the high-water mark, written once the user's listing is complete, in
    the same transaction as (or a later one than) the user's rows. Transactions end at a user
    boundary once `policy.commit_every_rows` rows are pending: fewer, larger commits write the WAL
    far faster than one per user, and a crash still loses at most that much progress.
    """
    newest: dict[str, datetime] = {}
    completed_hwms: dict[str, datetime] = {}
    rows_seen = rows_committed = 0
    users_done = 0

    def commit() -> None:
        writer.flush()
        state.set_times(completed_hwms, started)
        completed_hwms.clear()
        con.commit()

    con.begin()
    for user_id, page in client.fetch_pages_in_parallel(user_ids, fetch, workers=policy.workers):
        if page is None:
            if track_hwm and user_id in newest:
                completed_hwms[HWM_PREFIX + user_id] = newest[user_id]
            if rows_seen - rows_committed >= policy.commit_every_rows:
                commit()
                con.begin()
                rows_committed = rows_seen
            users_done += 1
            if users_done % 10 == 0 or users_done == len(user_ids):
                progress(f"appointments: {users_done}/{len(user_ids)} users, {rows_seen} rows")
            continue
        if track_hwm and user_id not in newest:
            created = parse_utc(page.created_at[0])
            if created is not None:
                newest[user_id] = created
        writer.add("appointments", page)
        rows_seen += len(page)
    commit()
    return rows_seen


def _mark_vanished(con: duckdb.DuckDBPyConnection, sweep_started_at: datetime) -> dict[str, int]:
    vanished: dict[str, int] = {}
    for table in ("raw.users", "raw.meeting_types", "raw.appointments"):
        sql = load_sql("raw/mark_vanished.sql").format(table=table)
        result = con.execute(sql, {"sweep_started_at": sweep_started_at})
        vanished[table] = result.fetchone()[0]  # type: ignore[index]
    return vanished
