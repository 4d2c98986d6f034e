"""Child processes: ones that crash on purpose, for tests of what survives a crash, and
stopping a child together with every process it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
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


def descendants(pid: int) -> list[int]:
    """The pids of every live process below `pid`, from /proc (Linux)."""
    found: list[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(child) for child in (task / "children").read_text().split()]
                found.extend(children)
                parents.extend(children)
    return found


def stop_tree(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM `process` and wait until it and the processes it had started have exited.

    What is still alive after `timeout_s` gets SIGKILL: e.g. the Dagster daemon's code server
    and its run workers, which must not outlive the test (nor the database it used).
    """
    tree = descendants(process.pid)
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    deadline = time.monotonic() + timeout_s
    for pid in tree:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether `pid` runs (an exited child its parent has not reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
