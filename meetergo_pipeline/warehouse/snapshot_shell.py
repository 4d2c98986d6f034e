"""The DuckDB CLI command that opens the published snapshot read-only."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

CLI_NAME = "duckdb"


def snapshot_shell_command(
    snapshot_path: str | Path, sql: Sequence[str] = (), *, search_path: str | None = None
) -> list[str]:
    """argv for the DuckDB CLI on `snapshot_path` with `-readonly`, then any `sql` to run.

    The CLI is looked up beside this interpreter (the virtualenv `pip install duckdb-cli`
    installs into) and then on PATH. Raises ValueError saying what to do when the snapshot
    or the CLI is missing.
    """
    snapshot = Path(snapshot_path)
    if not snapshot.is_file():
        raise ValueError(
            f"no snapshot at {snapshot} yet: run `meetergo-pipeline run` (or `sync`) first, "
            "or point MEETERGO_SNAPSHOT_PATH at the published file"
        )
    if search_path is None:
        interpreter_dir = str(Path(sys.executable).parent)
        search_path = os.pathsep.join([interpreter_dir, os.environ.get("PATH", "")])
    binary = shutil.which(CLI_NAME, path=search_path)
    if binary is None:
        raise ValueError(
            f"the DuckDB CLI ({CLI_NAME}) was not found beside {sys.executable} or on PATH: "
            "install it with `pip install duckdb-cli` into this environment"
        )
    return [binary, "-readonly", str(snapshot), *sql]
