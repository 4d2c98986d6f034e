"""Opening the warehouse for writing: the working DuckDB file (one writer, a clear error on a
held lock) or the DuckLake (`lake.py`), the raw schema ensured in either."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from meetergo_pipeline.settings import DEFAULTS
from meetergo_pipeline.sql import load_sql, one_row, sql_literal
from meetergo_pipeline.warehouse.appointment_fields import (
    define_appointment_fields,
    migrate_appointment_fields,
)
from meetergo_pipeline.warehouse.lake import LakeSettings, attach_lake, is_lake, lake_ddl
from meetergo_pipeline.warehouse.transaction import transaction
from meetergo_pipeline.webhooks.ingest import backfill_webhook_events

CHECKPOINT_AFTER = "32MB"
ROW_GROUP_SIZE = 10_240
WORKING_FILE_MODE = 0o600


WAL_REPLAY_FAILURE = "Failure while replaying WAL file"


class WarehouseLockedError(RuntimeError):
    """Another process holds the working DuckDB file (DuckDB allows one writer)."""


class WarehouseCorruptWalError(RuntimeError):
    """The working file's write-ahead log cannot be replayed (torn or damaged on disk)."""


def connect_writer(
    path: str | Path,
    *,
    memory_limit: str = DEFAULTS.duckdb_memory_limit,
    lake: LakeSettings | None = None,
    attempts: int = 8,
    first_wait_s: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """Open the working file for writing, retrying a held lock with bounded backoff.

    DuckDB's own lock message names the holder's PID; we keep it and add what to do. A WAL
    that fails its checksums raises `WarehouseCorruptWalError` (a copy of it kept aside).
    `memory_limit` caps DuckDB's buffer pool (it spills to `<file>.tmp/` beyond it), which
    keeps a sync's peak memory flat however large the tenant.

    The file is attached with row groups of `ROW_GROUP_SIZE` rows and checkpoints every
    `CHECKPOINT_AFTER` of WAL, so committed rows reach the file as a sync goes rather than
    at its end (why these sizes: docs/performance.md).

    A working file this call creates is made owner-only (`WORKING_FILE_MODE`) before any table
    is written to it: it holds the API payloads and webhook bodies with personal data.

    With `lake`, the DuckLake is attached as the `warehouse` catalog instead and `path` only
    names the local spill folder (`<path>.tmp/`); DuckLake has no file lock to retry (its
    writers are kept to one by `lake_lock.py`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if lake is not None:
        con = _connect(path, memory_limit)
        try:
            attach_lake(con, lake)
            ensure_raw_schema(con)
        except BaseException:
            con.close()
            raise
        return con
    is_new = not path.exists()
    wait = first_wait_s
    for attempt in range(1, attempts + 1):
        try:
            con = _attach(path, memory_limit)
        except duckdb.Error as exc:
            if WAL_REPLAY_FAILURE in str(exc):
                raise WarehouseCorruptWalError(_corrupt_wal_message(path, exc)) from None
            if not isinstance(exc, duckdb.IOException) or "lock" not in str(exc).lower():
                raise
            if attempt == attempts:
                raise WarehouseLockedError(
                    f"{path} is locked by another process: {exc}. Analysts should query the "
                    "published snapshot (MEETERGO_SNAPSHOT_PATH), not the working file."
                ) from None
            sleep(wait)
            wait = min(wait * 2, 5.0)
            continue
        if is_new:
            os.chmod(path, WORKING_FILE_MODE)
        ensure_raw_schema(con)
        return con
    raise AssertionError("unreachable")


def _corrupt_wal_message(path: Path, error: duckdb.Error) -> str:
    """Keep a copy of the damaged WAL and say how to continue; nothing is deleted here.

    DuckDB refuses to open a file whose WAL fails its checksums. Discarding the WAL loses
    the commits since the last checkpoint, so that stays an operator's decision; the copy
    keeps the evidence either way. The copy is named after the WAL's modification time, so
    every step that trips over the same WAL keeps one copy, not one each.
    """
    wal = Path(f"{path}.wal")
    changed = datetime.fromtimestamp(wal.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = wal.with_name(f"{wal.name}.corrupt-{changed}")
    if not kept.exists():
        shutil.copy2(wal, kept)
    reason = str(error).splitlines()[0]
    return (
        f"{wal} cannot be replayed, so {path} was not opened and nothing was written "
        f"(the published snapshot is untouched). DuckDB: {reason}. A copy of the log is kept "
        f"at {kept}. {path} itself is consistent as of its last checkpoint: to continue from "
        f"there, delete {wal} and run the sync again. The sync state lives in the same file "
        "and rolls back with the data, so the next run reads again whatever the lost commits "
        "held (webhook events from the log, bookings from the API)."
    )


def _connect(path: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the pipeline's memory cap, spilling to `<path>.tmp/`; it
    never downloads an extension (the lake's come from wheels, `lake.load_extensions`)."""
    return duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "checkpoint_threshold": CHECKPOINT_AFTER,
            "temp_directory": f"{path}.tmp",
            "autoinstall_known_extensions": False,
        }
    )


def _attach(path: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = _connect(path, memory_limit)
    try:
        con.execute("SET enable_progress_bar = false")  # a long statement must not draw on stdout
        con.execute(
            f"ATTACH {sql_literal(str(path))} AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
        )
        con.execute("USE warehouse")
    except BaseException:
        con.close()
        raise
    return con


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or migrate the raw schema: rows of an older webhook table get their typed
    columns, stored appointments their parsed `fields`, and the sync bookkeeping of a file
    made before tenants becomes the default tenant's; `con` gets `appointment_fields()`.

    On a DuckLake the same DDL runs without what DuckLake refuses (`lake_ddl`).
    """
    fields_type = define_appointment_fields(con)
    ddl = load_sql("raw/schema.sql", fields_type=fields_type)
    if is_lake(con):
        ddl = lake_ddl(ddl)
    con.execute(ddl)
    migrate_appointment_fields(con, ddl)
    (has_tenants,) = one_row(con, load_sql("raw/sync_tables_have_tenants.sql"))
    if not has_tenants:
        with transaction(con):
            con.execute(load_sql("raw/migrate_sync_tables.sql"))
            con.execute(ddl)
            con.execute(load_sql("raw/copy_sync_tables_before_tenants.sql"))
    backfill_webhook_events(con)
