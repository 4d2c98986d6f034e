"""raw.appointments.fields: the appointment payload's fields, parsed once when stored.

`sql/raw/appointment_fields.sql` defines the connection's macro `appointment_fields(payload)`
and with it the fields the pipeline reads; the column's type is the macro's result type. The
raw writer fills the column from the same parse that reads the typed keys, core and the
snapshot read the column and never the payload's JSON again.
"""

from __future__ import annotations

import duckdb

from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.warehouse.transaction import transaction


def define_appointment_fields(con: duckdb.DuckDBPyConnection) -> str:
    """Give `con` the macro `appointment_fields(payload)`; returns its result type (DuckDB's
    spelling, usable in DDL)."""
    con.execute(load_sql("raw/appointment_fields.sql"))
    (wanted,) = one_row(con, load_sql("raw/appointment_fields_type.sql"))
    return str(wanted)


def migrate_appointment_fields(con: duckdb.DuckDBPyConnection, schema_ddl: str) -> None:
    """Give raw.appointments, in a file made by an older version, a `fields` column of the
    macro's type derived from every stored payload.

    The table is rebuilt in one transaction (set aside, created anew by `schema_ddl`, the raw
    schema's DDL as this connection runs it, then copied back with its fields), so a crash
    leaves it as it was. Call it after `define_appointment_fields`, outside an open
    transaction; a no-op when the column is current.
    """
    (wanted,) = one_row(con, load_sql("raw/appointment_fields_type.sql"))
    stored = con.execute(load_sql("raw/appointment_fields_stored_type.sql")).fetchone()
    if stored is not None and stored[0] == wanted:
        return
    with transaction(con):
        con.execute(load_sql("raw/migrate_appointment_fields.sql"))
        con.execute(schema_ddl)
        copy = load_sql(
            "raw/copy_appointments_with_fields.sql",
            old_fields="" if stored is None else "EXCLUDE (fields)",
        )
        for statement in con.extract_statements(copy):
            con.execute(statement.query)
