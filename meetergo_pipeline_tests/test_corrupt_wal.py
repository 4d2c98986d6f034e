"""A damaged write-ahead log stops the pipeline with what to do; the snapshot stays.

One of the guarantees in docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meetergo_pipeline.run_sync import step_failures
from meetergo_pipeline.warehouse.connection import WarehouseCorruptWalError, connect_writer
from meetergo_pipeline_tests.support.duckdb_files import query, table_checksums
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync
from meetergo_pipeline_tests.support.processes import commit_then_get_killed


def damage(wal: Path) -> bytes:
    """Overwrite bytes in the middle of the log (not its tail, which DuckDB treats as torn)."""
    data = bytearray(wal.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = b"\xff" * 16
    wal.write_bytes(bytes(data))
    return bytes(data)


def kept_copies(working: Path) -> list[Path]:
    return sorted(working.parent.glob(f"{working.name}.wal.corrupt-*"))


@pytest.mark.slow
def test_a_damaged_wal_is_kept_aside_and_reported_with_what_to_do(tmp_path: Path) -> None:
    working = tmp_path / "meetergo.duckdb"
    connect_writer(working).close()
    commit_then_get_killed(
        working, "CREATE TABLE raw.scratch AS SELECT range AS n FROM range(100000)"
    )
    wal = Path(f"{working}.wal")
    damaged = damage(wal)

    for _ in range(2):  # every step that trips over the same log keeps one copy, not one each
        with pytest.raises(WarehouseCorruptWalError) as raised:
            connect_writer(working)
    message = str(raised.value)
    [kept] = kept_copies(working)
    assert kept.read_bytes() == damaged
    assert wal.read_bytes() == damaged  # nothing discarded without an operator's decision
    assert f"delete {wal}" in message
    assert str(kept) in message
    assert "published snapshot is untouched" in message

    wal.unlink()
    con = connect_writer(working)
    try:
        assert con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'"
        ).fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.slow
def test_sync_stops_on_a_damaged_wal_and_the_snapshot_stays(pipeline_env: PipelineEnv) -> None:
    assert run_sync("full").success
    clean = table_checksums(pipeline_env.duckdb_path)
    snapshot_before = pipeline_env.snapshot_path.read_bytes()
    commit_then_get_killed(
        pipeline_env.duckdb_path,
        "CREATE TABLE raw.scratch AS SELECT range AS n, repeat('x', 64) AS s FROM range(100000)",
    )
    damage(Path(f"{pipeline_env.duckdb_path}.wal"))

    result = run_sync("full")

    assert not result.success
    failures = step_failures(result)
    assert {step for step, _ in failures} == {"raw__webhook_events", "raw_api_tables"}
    assert all("cannot be replayed" in message for _, message in failures)
    assert "analytics__published_snapshot" not in {
        event.step_key for event in result.all_events if event.is_step_success
    }
    assert pipeline_env.snapshot_path.read_bytes() == snapshot_before
    assert len(kept_copies(pipeline_env.duckdb_path)) == 1

    Path(f"{pipeline_env.duckdb_path}.wal").unlink()  # the operator follows the message
    assert run_sync("full").success
    assert table_checksums(pipeline_env.duckdb_path) == clean
    assert query(pipeline_env.snapshot_path, "SELECT count(*) FROM core.appointments") == [(700,)]
