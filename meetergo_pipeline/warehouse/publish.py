"""Publish the analysts' read-only snapshot: the core and analytics layers under a contract.

The contract is `meetergo_pipeline/sql/publish/<schema>/<table>.sql`: one file per published
table, selecting its columns by name. Nothing else reaches the snapshot: no `raw` table (API
payloads, webhook bodies, sync state and run records stay in the working file), no column a
contract file does not name, and attendees only as a keyed pseudonym (`pseudonym.py`).

The snapshot is built from the writer's own open connection, so it is published under the
single-writer lock by construction. A new DuckDB file is attached inside a private (0700)
folder beside the snapshot, the contract's tables are created in it in one transaction (one
consistent read of the working file) and the working file's comments copied onto them; the
file is detached, given its mode, fsync'd and `os.replace`d over the snapshot, and the folder
of the snapshot is fsync'd. A reader holding the old file keeps its view until it reconnects;
an error or a crash at any point leaves the previous snapshot as it was.

The file is written in storage format `SNAPSHOT_STORAGE_VERSION`, which every DuckDB since 1.0
reads (the CLI analysts install with `pip install duckdb-cli`, BI drivers), whatever newer
DuckDB the pipeline runs on.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

import duckdb

from meetergo_pipeline.processes import process_exists
from meetergo_pipeline.settings import DEFAULTS
from meetergo_pipeline.sql import load_sql, sql_literal
from meetergo_pipeline.warehouse.connection import ROW_GROUP_SIZE
from meetergo_pipeline.warehouse.durable import fsync_directory, fsync_file
from meetergo_pipeline.warehouse.pseudonym import hmac_pads
from meetergo_pipeline.warehouse.transaction import transaction

PUBLISHED_SCHEMAS = ("core", "analytics")
SNAPSHOT_STORAGE_VERSION = "v1.0.0"
BUILD_SUFFIX = ".publish"
PUBLISHED_CATALOG = "published"
# A contract file's first statement: `CREATE TABLE <catalog>.<schema>.<table> AS <select>`.
_CONTRACT_CREATE = re.compile(
    rf"CREATE\s+TABLE\s+{PUBLISHED_CATALOG}\.(\w+\.\w+)\s+AS\s+(.+)$", re.DOTALL
)


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    snapshot_path: str | Path,
    *,
    key: bytes,
    mode: int = DEFAULTS.snapshot_mode,
) -> Path:
    """Build the snapshot from `con` (the writer's connection) and replace `snapshot_path`.

    `key` is the pseudonym key (`pseudonym_key`), `mode` the snapshot's permission bits
    (`MEETERGO_SNAPSHOT_MODE`). Call it outside an open transaction; `con` is left as it
    was, with nothing attached.
    """
    snapshot = Path(snapshot_path)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(snapshot)
    build_dir = Path(
        tempfile.mkdtemp(
            prefix=f".{snapshot.name}.{os.getpid()}.", suffix=BUILD_SUFFIX, dir=snapshot.parent
        )
    )
    try:
        built = build_dir / snapshot.name
        build_snapshot_file(con, built, key)
        os.chmod(built, mode)
        fsync_file(built)
        os.replace(built, snapshot)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    fsync_directory(snapshot.parent)
    return snapshot


def build_snapshot_file(con: duckdb.DuckDBPyConnection, path: Path, key: bytes) -> None:
    """Create a new DuckDB file at `path` holding the contract's tables read through `con`."""
    define_attendee_pseudonym(con, key)
    try:
        # Row groups as small as the working file's: each table is compressed and written a
        # row group at a time while it is built, not held whole in memory until the commit.
        con.execute(
            f"ATTACH {sql_literal(str(path))} AS {PUBLISHED_CATALOG} "
            f"(STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}', ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
        )
        try:
            _create_published_tables(con)
        finally:
            con.execute(f"DETACH {PUBLISHED_CATALOG}")
    finally:
        drop_attendee_pseudonym(con)


def publish_to_catalog(
    con: duckdb.DuckDBPyConnection,
    attach: Callable[[duckdb.DuckDBPyConnection, str], None],
    key: bytes,
) -> None:
    """Replace the contract's tables in the catalog `attach(con, alias)` attaches (the
    published DuckLake), read through `con`, in one transaction: its readers see the
    previous publication or this one, whole. `con` is left with nothing attached."""
    define_attendee_pseudonym(con, key)
    try:
        attach(con, PUBLISHED_CATALOG)
        try:
            _create_published_tables(con, replace=True)
        finally:
            con.execute(f"DETACH {PUBLISHED_CATALOG}")
    finally:
        drop_attendee_pseudonym(con)


def define_attendee_pseudonym(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Give `con` the temporary macro `attendee_pseudonym(email)`: HMAC-SHA256 under `key`."""
    ipad, opad = hmac_pads(key)
    con.execute(load_sql("publish/pseudonym_key.sql"), {"ipad": ipad, "opad": opad})
    con.execute(load_sql("publish/pseudonym_macro.sql"))


def drop_attendee_pseudonym(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the macro and the key's pads from `con`."""
    con.execute("DROP MACRO IF EXISTS temp.attendee_pseudonym")
    con.execute("RESET VARIABLE pseudonym_pads")


def _create_published_tables(con: duckdb.DuckDBPyConnection, *, replace: bool = False) -> None:
    """One transaction: every table reads the same state of the working file; with `replace`,
    the previous publication's schemas are dropped in it first."""
    with transaction(con):
        for schema in PUBLISHED_SCHEMAS:
            if replace:
                con.execute(f"DROP SCHEMA IF EXISTS {PUBLISHED_CATALOG}.{schema} CASCADE")
            con.execute(f"CREATE SCHEMA {PUBLISHED_CATALOG}.{schema}")
        for statement in con.extract_statements(contract_sql()):
            con.execute(statement.query)
        _copy_comments(con)


def published_tables() -> list[str]:
    """`schema.table` of every table the contract publishes."""
    return [f"{schema}.{name}" for schema, name in _contract_tables()]


@cache
def contract_select(table: str) -> str:
    """The SELECT of `table`'s contract file (`schema.table`), over the working file's tables:
    exactly the rows and columns the snapshot publishes. KeyError if nothing publishes it."""
    for schema, name in _contract_tables():
        if f"{schema}.{name}" == table:
            sql = load_sql(f"publish/{schema}/{name}.sql", published=PUBLISHED_CATALOG)
            create = duckdb.extract_statements(sql)[0].query.strip().removesuffix(";")
            found = _CONTRACT_CREATE.search(create)
            if found is None or found.group(1) != table:
                raise RuntimeError(f"sql/publish/{schema}/{name}.sql does not create {table}")
            return found.group(2)
    raise KeyError(f"{table} has no contract file under meetergo_pipeline/sql/publish")


def contract_sql() -> str:
    """Every contract file, creating its table in the catalog being published."""
    return "\n".join(
        load_sql(f"publish/{schema}/{table}.sql", published=PUBLISHED_CATALOG)
        for schema, table in _contract_tables()
    )


@cache
def _contract_tables() -> tuple[tuple[str, str], ...]:
    publish = files("meetergo_pipeline.sql").joinpath("publish")
    return tuple(
        (schema, entry.name.removesuffix(".sql"))
        for schema in PUBLISHED_SCHEMAS
        for entry in sorted(publish.joinpath(schema).iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".sql")
    )


def _copy_comments(con: duckdb.DuckDBPyConnection) -> None:
    """Give each published table and column the working file's comment of the same name."""
    rows = con.execute(
        load_sql("publish/source_comments.sql"), {"published": PUBLISHED_CATALOG}
    ).fetchall()
    statements = []
    for schema, table, column, comment in rows:
        names = [PUBLISHED_CATALOG, schema, table] + ([] if column is None else [column])
        target = ".".join(_identifier(name) for name in names)
        kind = "TABLE" if column is None else "COLUMN"
        statements.append(f"COMMENT ON {kind} {target} IS {_string_literal(comment)};")
    if statements:
        con.execute("\n".join(statements))


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _remove_abandoned_builds(snapshot: Path) -> None:
    """Delete build folders left by publishing processes that no longer run (killed mid-build)."""
    for build_dir in snapshot.parent.glob(f".{snapshot.name}.*{BUILD_SUFFIX}"):
        pid_text = build_dir.name.removeprefix(f".{snapshot.name}.").split(".", 1)[0]
        if pid_text.isdigit() and not process_exists(int(pid_text)):
            shutil.rmtree(build_dir, ignore_errors=True)
