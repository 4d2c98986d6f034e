"""One writer per DuckLake for a whole run: a PostgreSQL advisory lock in the lake's catalog.

The DuckDB file's writer lock (`writer_lock.py`) is a `flock` on one machine's disk; a lake is
shared by every host that can reach its catalog, so its lock lives there: a session-level
`pg_advisory_lock` on `LAKE_WRITER_LOCK_KEY`, held by a connection of its own from the start
of a run to its end. PostgreSQL releases it when that session ends, however the holder ends
(SIGKILL and a lost host included, once the server notices the broken connection). The
holder names itself in its session's `application_name`, which a waiting run reads from
`pg_stat_activity`.

DuckLake itself detects conflicting commits per table and aborts the later one; a second
writer would fail half-way through a run instead of waiting, so the lock is the one-writer
guarantee of the lake as the flock is of the file.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from meetergo_pipeline.warehouse.lake import LakeSettings
from meetergo_pipeline.warehouse.writer_lock import wait_for_writer

if TYPE_CHECKING:
    from psycopg2.extensions import connection  # type: ignore[import-untyped]

LAKE_WRITER_LOCK_KEY = 0x6D65_6574_6C61_6B65  # "meetlake": one lock per catalog database
CONNECT_TIMEOUT_S = 10


@contextmanager
def lake_writer_lock(
    lake: LakeSettings,
    *,
    wait_s: float,
    run_id: str | None = None,
    announce: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the lake's writer lock for the block (as `writer_lock` does for the file).

    A lock held by another run is waited for up to `wait_s` seconds (`announce` is told once
    who holds it), then `WarehouseBusyError` names the holder; a stop request ends the wait.
    """
    session = _connect(lake, _holder_name(run_id))
    try:
        _acquire(session, lake, wait_s, announce)
        yield
    finally:
        session.close()  # ends the session and with it the lock


def _connect(lake: LakeSettings, application_name: str) -> connection:
    import psycopg2  # type: ignore[import-untyped]  # here: only a lake needs the driver

    try:
        session = psycopg2.connect(
            lake.catalog_url,
            application_name=application_name,
            connect_timeout=CONNECT_TIMEOUT_S,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
    except psycopg2.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        raise RuntimeError(
            f"cannot connect to the DuckLake catalog {lake.catalog_name} "
            f"(MEETERGO_DUCKLAKE_CATALOG) for its writer lock: {reason}"
        ) from None
    session.autocommit = True
    return session


def _acquire(
    session: connection, lake: LakeSettings, wait_s: float, announce: Callable[[str], None]
) -> None:
    def take() -> bool:
        with session.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (LAKE_WRITER_LOCK_KEY,))
            row = cur.fetchone()
        return row is not None and bool(row[0])

    wait_for_writer(
        take,
        lambda: _holder(session),
        writing=f"the DuckLake {lake.catalog_name}",
        writer="the lake's",
        wait_s=wait_s,
        announce=announce,
    )


def _holder_name(run_id: str | None) -> str:
    """Who this process is, as `application_name` (PostgreSQL keeps 63 bytes of it)."""
    host = socket.gethostname()[:20]
    return f"meetergo pid={os.getpid()} host={host} run={(run_id or '-')[:8]}"


def _holder(session: connection) -> str:
    """Who holds the lock: the holding session's `application_name`, address and start."""
    with session.cursor() as cur:
        cur.execute(
            "SELECT a.application_name, a.client_addr::text, "
            "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND (l.classid::bigint << 32 | l.objid::bigint) = %s",
            (LAKE_WRITER_LOCK_KEY,),
        )
        row = cur.fetchone()
    if row is None:
        return "a session that has just ended"
    name, address, since = row
    return f"{name or 'an unnamed session'} from {address or 'a local socket'} since {since}"
