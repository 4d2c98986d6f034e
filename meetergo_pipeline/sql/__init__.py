"""SQL of the raw, core and analytics layers and of the checks, one statement per file.

One placeholder convention: values go in as DuckDB bound parameters (`$name` or `?`) wherever
DuckDB accepts one. Only what a parameter cannot be (a table or column identifier, the
configured metered-booking predicate, text inside a `COMMENT ON` literal) is written as
`{{name}}` and filled by :func:`load_sql`; the caller makes each fill safe first (validated
identifiers, quotes doubled inside literals).
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

import duckdb

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def load_sql(relative_path: str, **fills: str) -> str:
    """The text of `sql/<relative_path>` with every `{{name}}` replaced by `fills[name]`.

    Fills the file does not use are ignored, so one set of fills can serve several files.
    Raises ValueError naming the file and the placeholders left without a fill.
    """
    text = _read(relative_path)
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in fills})
    if missing:
        wanted = ", ".join("{{" + name + "}}" for name in missing)
        raise ValueError(f"sql/{relative_path} needs a value for {wanted}")
    if not fills:
        return text
    return PLACEHOLDER.sub(lambda match: fills[match.group(1)], text)


@cache
def _read(relative_path: str) -> str:
    return files(__package__).joinpath(relative_path).read_text(encoding="utf-8")


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (quotes doubled), for the few places DuckDB binds nothing.

    DuckDB 1.x parses no parameter in `ATTACH`; every other value stays a bound parameter.
    """
    return "'" + text.replace("'", "''") + "'"


def one_row(con: duckdb.DuckDBPyConnection, sql: str, parameters: object = None) -> tuple[Any, ...]:
    """The single row `sql` returns (an aggregate, a setting); RuntimeError if it returns none."""
    row = con.execute(sql, parameters).fetchone()
    if row is None:
        raise RuntimeError(f"expected one row from: {sql.strip().splitlines()[0]}")
    return row
