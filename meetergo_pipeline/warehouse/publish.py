"""Publish a consistent read-only snapshot of the warehouse for analysts.

DuckDB allows one writer, and a reader of the working file would block the sync (or be
blocked by it). Analysts instead read a copy that is replaced atomically after each
successful run: written to a temporary file beside the target, fsync'd, then `os.replace`d.
A reader holding the old file keeps its consistent view until it reconnects; a crash mid-copy
leaves the previous snapshot untouched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def publish_snapshot(working_path: str | Path, snapshot_path: str | Path) -> Path:
    """Checkpoint the working file, then copy it over `snapshot_path` atomically.

    The caller must have closed its write connection: the checkpoint needs it, and the copy
    must not race a writer.
    """
    working, snapshot = Path(working_path), Path(snapshot_path)
    con = duckdb.connect(str(working))
    try:
        con.execute("FORCE CHECKPOINT")
    finally:
        con.close()
    wal = Path(f"{working}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise RuntimeError(
            f"{wal} still holds changes after the checkpoint (is another process writing "
            f"{working}?); the snapshot was not replaced"
        )
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    temporary = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    try:
        with working.open("rb") as source, temporary.open("wb") as target:
            shutil.copyfileobj(source, target, length=8 << 20)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, snapshot)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(snapshot.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return snapshot
