"""The appointment ids file that makes metering exact (``MEETERGO_API_BOOKINGS_FILE``).

The customer's own application knows which bookings it created through the API; it can list
their ids in a CSV file (a header row naming an ``appointment_id`` column) or a Parquet file
(an ``appointment_id`` column). When the setting names such a file, every analytics build
reads it into the session-only table ``api_booking_ids`` and ``analytics.metered_bookings``
meters exactly the bookings whose id is listed; the predicate is not applied. Without the
setting the table is empty and the predicate decides.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from meetergo_pipeline.settings import variable
from meetergo_pipeline.sql import load_sql, one_row

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def load_api_booking_ids(con: duckdb.DuckDBPyConnection, path: Path | None) -> int | None:
    """Create the session-only table ``api_booking_ids`` from the file at ``path``.

    Returns how many distinct ids the file lists, or None when ``path`` is None (the table is
    then empty). Raises ``ValueError`` naming the variable when the file is missing, is not
    CSV or Parquet by its name, or has no ``appointment_id`` column.
    """
    if path is None:
        con.execute(load_sql("metering/no_api_booking_ids.sql"))
        return None
    setting = f"{variable('api_bookings_file')}={str(path)!r}"
    if not path.is_file():
        raise ValueError(f"{setting}: no such file (give the path of a CSV or Parquet file)")
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        sql_file = "metering/api_booking_ids_csv.sql"
    elif name.endswith(PARQUET_SUFFIXES):
        sql_file = "metering/api_booking_ids_parquet.sql"
    else:
        accepted = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise ValueError(f"{setting}: the file name must end in one of {accepted}")
    try:
        con.execute(load_sql(sql_file), {"path": str(path)})
    except duckdb.BinderException as error:
        raise ValueError(
            f"{setting}: the file needs a column named appointment_id ({_first_line(error)})"
        ) from None
    except duckdb.Error as error:
        raise ValueError(f"{setting}: the file cannot be read: {_first_line(error)}") from None
    (listed,) = one_row(con, "SELECT count(*) FROM api_booking_ids")
    return int(listed)


def drop_api_booking_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the session-only id table (after a build, or a failed one)."""
    con.execute("DROP TABLE IF EXISTS temp.api_booking_ids")


def metered_rule_text(predicate: str, path: Path | None) -> str:
    """The metering rule in effect, as the tables' comments state it."""
    if path is None:
        return predicate
    return (
        f"appointment_id listed in {path.name} ({variable('api_bookings_file')}); "
        f"the predicate {predicate} is not applied"
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
