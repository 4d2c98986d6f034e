"""SQL of the raw, core and analytics layers, one statement per file."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load_sql(relative_path: str) -> str:
    """The text of `sql/<relative_path>`, e.g. `load_sql("raw/schema.sql")`."""
    return files(__package__).joinpath(relative_path).read_text(encoding="utf-8")
