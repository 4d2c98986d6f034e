"""Child processes that crash on purpose, for tests of what survives a crash."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def commit_then_get_killed(working: Path, sql: str) -> None:
    """Commit `sql` into the working file's WAL, then SIGKILL before any checkpoint."""
    writer = f"""
import os, signal, duckdb
con = duckdb.connect({str(working)!r})
con.execute("PRAGMA disable_checkpoint_on_shutdown")
con.execute("SET checkpoint_threshold = '1TB'")
con.execute({sql!r})
os.kill(os.getpid(), signal.SIGKILL)
"""
    completed = subprocess.run([sys.executable, "-c", writer], check=False)
    assert completed.returncode == -signal.SIGKILL
