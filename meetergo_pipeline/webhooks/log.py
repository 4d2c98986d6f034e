"""The webhook log on disk: day-rotated JSONL files, appended and fsync'd before any 2xx.

Layout under ``log_dir``::

    events-YYYY-MM-DD.jsonl            one delivery per line: {"received_at": ..., "body": {...}}
    events-YYYY-MM-DD.<tenant>.jsonl   the same, for deliveries to a tenant's URL
                                       (/webhooks/meetergo/<token>/<tenant>)
    quarantine/quarantine-YYYY-MM-DD.jsonl   rejected bytes: {"received_at", "reason", ...}

Days are UTC days. One receiver process owns a log dir; other producers drop their own files
beside ours (see ``ingest.py``), they never append to ours. Files are created 0600 and the
directories the log creates 0700: they hold personal data.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from meetergo_pipeline.warehouse.durable import fsync_directory
from meetergo_pipeline.webhooks.group_commit import ErrorOf, GroupCommit

QUARANTINE_DIR = "quarantine"
TENANT_ID = re.compile(
    r"[a-z0-9_]+"
)  # a tenant id (tenants.py), as URL path and file names hold it
TENANT_LOG_FILE = re.compile(r"events-\d{4}-\d{2}-\d{2}\.([a-z0-9_]+)\.jsonl")
FILE_MODE = 0o600  # log and quarantine files hold personal data: owner only
DIR_MODE = 0o700
_MAX_OPEN_FILES = 4
_MAX_ATTEMPTS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def event_log_path(log_dir: Path, at: datetime, tenant_id: str | None = None) -> Path:
    """The day's log file, the tenant's own when `tenant_id` is given."""
    if tenant_id is None:
        return log_dir / f"events-{at:%Y-%m-%d}.jsonl"
    return log_dir / f"events-{at:%Y-%m-%d}.{tenant_id}.jsonl"


def tenant_of_log_file(name: str) -> str:
    """The tenant whose deliveries a log file holds: `acme` for `events-<day>.acme.jsonl`,
    `default` for the receiver's untenanted files and for files dropped in by others."""
    match = TENANT_LOG_FILE.fullmatch(name)
    return match.group(1) if match else "default"


def quarantine_path(log_dir: Path, at: datetime) -> Path:
    return log_dir / QUARANTINE_DIR / f"quarantine-{at:%Y-%m-%d}.jsonl"


def delivery_line(received_at: datetime, body: bytes) -> bytes:
    """One log line wrapping ``body`` (already validated JSON object text, no newlines)."""
    stamp = received_at.isoformat(timespec="microseconds")
    return b'{"received_at":"' + stamp.encode() + b'","body":' + body + b"}\n"


def quarantine_line(received_at: datetime, reason: str, raw: bytes, **context: object) -> bytes:
    """A quarantine record; the raw bytes travel base64-encoded so any bytes survive."""
    record = {
        "received_at": received_at.isoformat(timespec="microseconds"),
        "reason": reason,
        **context,
        "size": len(raw),
        "raw_base64": base64.b64encode(raw).decode("ascii"),
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def append_durably(path: Path, lines: list[bytes]) -> None:
    """Blocking append + fsync, for callers outside the receiver's event loop (ingest)."""
    writer = _FileAppender()
    try:
        writer.append(path, b"".join(lines))
    finally:
        writer.close()


@dataclass
class _Pending:
    path: Path
    data: bytes
    done: asyncio.Future[None]


class EventLog:
    """Group-commit appender: concurrent ``append`` calls share one write + fsync per file.

    While one batch is being written and fsync'd in a worker thread, new lines queue up; the
    next batch takes all of them (``group_commit.GroupCommit``). ``append`` returns only after
    its bytes are on disk and raises ``OSError`` if they could not be made durable.
    """

    def __init__(self) -> None:
        self._appender = _FileAppender()
        self._commits = GroupCommit(self._write_batch, _write_failed)

    async def append(self, path: Path, data: bytes) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._commits.submit(_Pending(path, data, done))

    async def aclose(self) -> None:
        await self._commits.drain()
        self._appender.close()

    def _write_batch(self, batch: list[_Pending]) -> ErrorOf[_Pending] | None:
        by_path: dict[Path, list[bytes]] = {}
        for item in batch:
            by_path.setdefault(item.path, []).append(item.data)
        errors: dict[Path, OSError] = {}
        for path, chunks in by_path.items():
            try:
                self._appender.append(path, b"".join(chunks))
            except OSError as exc:
                errors[path] = exc
        if not errors:
            return None
        return lambda item: errors.get(item.path)


def _write_failed(error: Exception) -> OSError:
    return OSError(f"webhook log write failed: {error!r}")


@dataclass
class _FileAppender:
    """Keeps a few append-mode descriptors open; used by one thread at a time.

    Files are created 0600 and directories 0700 (they hold personal data); every new file or
    directory has its parent directory fsync'd so the entry itself survives a crash. A held
    descriptor whose path was deleted or moved meanwhile is dropped and the path created anew,
    so an acknowledged line is always in the file at ``path`` when ``append`` returns.
    """

    _fds: dict[Path, int] = field(default_factory=dict)
    _identities: dict[Path, tuple[int, int]] = field(default_factory=dict)  # (st_dev, st_ino)

    def append(self, path: Path, data: bytes) -> None:
        try:
            for _ in range(_MAX_ATTEMPTS):
                fd = self._fds.get(path)
                if fd is not None and not self._still_at(path):
                    self._close(path)
                    fd = None
                if fd is None:
                    fd = self._open(path)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                if self._still_at(path):
                    return
                # Deleted or moved while we wrote: write the bytes again where they belong.
                self._close(path)
            raise OSError(f"{path} kept being deleted or moved while appending to it")
        except OSError:
            # A failed write may have left a partial line; drop the descriptor so the next
            # open starts a fresh line (see _open) instead of gluing onto the fragment.
            self._close(path)
            raise

    def close(self) -> None:
        for path in list(self._fds):
            self._close(path)

    def _open(self, path: Path) -> int:
        if len(self._fds) >= _MAX_OPEN_FILES:
            self._close(next(iter(self._fds)))
        _make_dirs(path.parent)
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
            created = True
        except FileExistsError:
            fd = os.open(path, flags)
            created = False
        self._fds[path] = fd
        held = os.fstat(fd)
        self._identities[path] = (held.st_dev, held.st_ino)
        if created:
            fsync_directory(path.parent)
        elif not _ends_with_newline(fd):
            os.write(fd, b"\n")
        return fd

    def _still_at(self, path: Path) -> bool:
        """Whether ``path`` still names the file we hold for it (not deleted, moved, replaced)."""
        try:
            at_path = os.stat(path)
        except FileNotFoundError:
            return False
        return (at_path.st_dev, at_path.st_ino) == self._identities.get(path)

    def _close(self, path: Path) -> None:
        fd = self._fds.pop(path, None)
        self._identities.pop(path, None)
        if fd is not None:
            os.close(fd)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and missing parents 0700, fsyncing each new entry's parent."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent)
    try:
        directory.mkdir(DIR_MODE)
    except FileExistsError:
        return
    fsync_directory(directory.parent)
