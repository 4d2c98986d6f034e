"""An analyst (or BI tool) holding the working file must not corrupt or hang the sync.

One of the guarantees in docs/reliability.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.warehouse.connection import WarehouseLockedError, connect_writer


@pytest.mark.slow
def test_held_lock_is_retried_with_backoff_then_reported_with_the_pid(tmp_path: Path) -> None:
    working = tmp_path / "meetergo.duckdb"
    duckdb.connect(str(working)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(working)!r}); print('held', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waits: list[float] = []
        with pytest.raises(WarehouseLockedError) as raised:
            connect_writer(working, attempts=4, sleep=waits.append)
        assert waits == [0.25, 0.5, 1.0]
        message = str(raised.value)
        assert str(holder.pid) in message
        assert "MEETERGO_SNAPSHOT_PATH" in message
    finally:
        holder.kill()
        holder.wait()
    connect_writer(working).close()  # free again once the holder is gone
