"""Publishing the analysts' snapshot: atomic replacement, readers undisturbed.

Guarantees listed in docs/reliability.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.warehouse import publish
from meetergo_pipeline.warehouse.publish import publish_snapshot
from meetergo_pipeline_tests.support.processes import commit_then_get_killed


def make_working_file(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE OR REPLACE TABLE answers AS SELECT range AS n FROM range(?)", [rows])
    finally:
        con.close()


def count(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        con.close()


def test_snapshot_is_replaced_while_a_reader_keeps_its_view(tmp_path: Path) -> None:
    working, snapshot = tmp_path / "w.duckdb", tmp_path / "s.duckdb"
    make_working_file(working, 10)
    publish_snapshot(working, snapshot)
    reader = duckdb.connect(str(snapshot), read_only=True)
    try:
        make_working_file(working, 25)
        publish_snapshot(working, snapshot)
        assert reader.execute("SELECT count(*) FROM answers").fetchone() == (10,)
    finally:
        reader.close()
    assert count(snapshot) == 25
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_crash_mid_copy_leaves_the_previous_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    working, snapshot = tmp_path / "w.duckdb", tmp_path / "s.duckdb"
    make_working_file(working, 10)
    publish_snapshot(working, snapshot)
    before = snapshot.read_bytes()
    make_working_file(working, 99)

    def copy_half_then_fail(source, target, length: int = 0) -> None:
        target.write(source.read(4096))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish.shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        publish_snapshot(working, snapshot)
    monkeypatch.setattr(publish.shutil, "copyfileobj", shutil.copyfileobj)
    assert snapshot.read_bytes() == before
    assert count(snapshot) == 10
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.slow
def test_rows_committed_before_a_kill_are_published_and_the_wal_is_merged(
    tmp_path: Path,
) -> None:
    """SIGKILL after COMMIT, before any checkpoint: the publish replays and merges the WAL."""
    working, snapshot = tmp_path / "w.duckdb", tmp_path / "s.duckdb"
    commit_then_get_killed(working, "CREATE TABLE answers AS SELECT range AS n FROM range(42)")
    wal = Path(f"{working}.wal")
    assert wal.exists() and wal.stat().st_size > 0
    publish_snapshot(working, snapshot)
    assert count(snapshot) == 42
    assert not wal.exists() or wal.stat().st_size == 0
