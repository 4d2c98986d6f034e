"""The committed data dictionary is the one the published tables' comments give."""

from __future__ import annotations

from pathlib import Path

from meetergo_pipeline.data_dictionary import DEFAULT_OUTPUT, default_data_dictionary
from meetergo_pipeline.warehouse.publish import published_tables

ROOT = Path(__file__).parents[1]


def test_committed_data_dictionary_is_current() -> None:
    committed = (ROOT / DEFAULT_OUTPUT).read_text(encoding="utf-8")
    assert committed == default_data_dictionary(), (
        "docs/data-dictionary.md is stale: run `meetergo-pipeline docs` and commit the result"
    )


def test_every_published_table_and_column_is_described() -> None:
    text = default_data_dictionary()
    for table in published_tables():
        assert f"## `{table}`" in text
    column_rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert column_rows and all(not line.endswith("|  |") for line in column_rows)
