"""The SQL loader's placeholders and the transaction helper, on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.warehouse.transaction import transaction


def test_placeholders_are_filled_once_and_unused_fills_are_ignored() -> None:
    sql = load_sql("tables/count_rows.sql", table="core.users", unused="x")
    assert sql.rstrip().endswith("SELECT count(*) FROM core.users")
    # a fill is not searched again for placeholders
    assert "{{table}}" in load_sql("tables/count_rows.sql", table="{{table}}")


def test_a_missing_fill_names_the_file_and_the_placeholder() -> None:
    with pytest.raises(
        ValueError, match=r"sql/tables/count_rows.sql needs a value for \{\{table\}\}"
    ):
        load_sql("tables/count_rows.sql")


def test_transaction_commits_a_block_that_ends_and_rolls_back_one_that_raises(
    tmp_path: Path,
) -> None:
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("CREATE TABLE t (n INTEGER NOT NULL)")
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError, match="stop"), transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("stop")
    with pytest.raises(duckdb.ConstraintException), transaction(con):
        con.execute("INSERT INTO t VALUES (3)")
        con.execute("INSERT INTO t VALUES (NULL)")  # a failed statement aborts the transaction
    con.close()
    reopened = duckdb.connect(str(tmp_path / "t.duckdb"))
    assert reopened.execute("SELECT list(n) FROM t").fetchone() == ([1],)
