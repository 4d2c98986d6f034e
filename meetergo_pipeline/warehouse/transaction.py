"""The one way the pipeline opens, commits and rolls back a DuckDB transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """`with transaction(con): ...` runs the block in one transaction.

    BEGIN on entry, COMMIT when the block ends normally, ROLLBACK when it raises (the error
    then propagates). Call it outside an open transaction: DuckDB does not nest them. A
    ROLLBACK that itself fails (the connection already invalidated by the error) is not
    reported over the error that caused it; closing the connection discards the work anyway.
    """
    con.begin()
    try:
        yield con
    except BaseException:
        with suppress(duckdb.Error):
            con.rollback()
        raise
    con.commit()
