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


def sync_then_get_killed(mode: str) -> None:
    """Run the sync job in a child (this environment) that SIGKILLs itself once the API sync
    has committed its last transaction, before Dagster records the step's success."""
    child = f"""
import os, signal
from meetergo_pipeline.defs.assets import raw
from meetergo_pipeline_tests.support.pipeline_env import run_sync

synced = raw.sync_api_to_raw

def sync_then_die(*args, **kwargs):
    synced(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

raw.sync_api_to_raw = sync_then_die
run_sync({mode!r})
"""
    completed = subprocess.run([sys.executable, "-c", child], check=False, capture_output=True)
    assert completed.returncode == -signal.SIGKILL, completed.stderr[-3000:]
