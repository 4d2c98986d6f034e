"""The model catalogue against the SQL it describes and the Dagster graph built from it."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any, get_args

import duckdb
import pytest
from dagster import AssetKey

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.models import MODELS, Model, published_models, raw_api_models
from meetergo_pipeline.sql import PLACEHOLDER
from meetergo_pipeline.warehouse.raw_writer import RawEntity

SQL_MODELS = [model for model in MODELS if model.source == "sql"]
CREATE_TABLE = re.compile(r"CREATE\s+OR\s+REPLACE\s+TABLE\s+(\S+)\s+AS\s", re.IGNORECASE)


def tables_read(model: Model) -> set[str]:
    """Every schema-qualified table the model's CREATE statement reads, from DuckDB's parse.

    Placeholders become `true`, which parses wherever the model files put one.
    """
    text = files("meetergo_pipeline.sql").joinpath(model.sql_file).read_text(encoding="utf-8")
    con = duckdb.connect()
    try:
        create = con.extract_statements(PLACEHOLDER.sub("true", text))[0].query
        match = CREATE_TABLE.search(create)
        assert match and match.group(1) == model.table, f"{model.sql_file} creates {model.table}"
        (serialized,) = con.execute(
            "SELECT json_serialize_sql(?)", [create[match.end() :]]
        ).fetchone()
    finally:
        con.close()
    tree = json.loads(serialized)
    assert not tree["error"], tree
    found: set[str] = set()
    collect_base_tables(tree, found)
    return found


def collect_base_tables(node: Any, found: set[str]) -> None:
    """Schema-qualified BASE_TABLE references (CTE references carry no schema)."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
            found.add(f"{node['schema_name']}.{node['table_name']}")
        for value in node.values():
            collect_base_tables(value, found)
    elif isinstance(node, list):
        for value in node:
            collect_base_tables(value, found)


@pytest.mark.parametrize("model", SQL_MODELS, ids=lambda model: model.table)
def test_declared_upstream_is_exactly_what_the_sql_reads(model: Model) -> None:
    assert set(model.upstream) == tables_read(model)
    assert len(model.upstream) == len(set(model.upstream))


def test_the_parse_sees_joins_subqueries_and_ctes() -> None:
    sql = (
        "WITH x AS (SELECT * FROM raw.a WHERE y = $p) SELECT * FROM x JOIN core.b USING (id) "
        "WHERE EXISTS (SELECT 1 FROM raw.c) UNION ALL SELECT * FROM (SELECT * FROM analytics.d)"
    )
    (serialized,) = duckdb.connect().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    found: set[str] = set()
    collect_base_tables(json.loads(serialized), found)
    assert found == {"raw.a", "core.b", "raw.c", "analytics.d"}


def test_every_model_file_is_catalogued_and_every_catalogued_model_has_one() -> None:
    sql_root = files("meetergo_pipeline.sql")
    on_disk = {
        f"{layer}/{entry.name}"
        for layer in ("core", "analytics")
        for entry in sql_root.joinpath(layer).iterdir()
        if entry.name.endswith(".sql")
    }
    assert on_disk == {model.sql_file for model in SQL_MODELS}


def test_models_come_after_the_tables_they_read() -> None:
    built: set[str] = set()
    for model in MODELS:
        assert model.source == "sql" or not model.upstream, model.table
        assert set(model.upstream) <= built, f"{model.table} is listed before what it reads"
        built.add(model.table)
    assert [model.layer for model in MODELS] == sorted(
        (model.layer for model in MODELS), key=["raw", "core", "analytics"].index
    )


def test_the_raw_writer_knows_exactly_the_raw_api_tables() -> None:
    assert set(get_args(RawEntity)) == {model.name for model in raw_api_models()}


def test_dagster_lineage_is_the_catalogues() -> None:
    graph = build_definitions().resolve_asset_graph()
    for model in MODELS:
        node = graph.get(AssetKey(model.table.split(".")))
        assert {key.to_user_string() for key in node.parent_keys} == {
            table.replace(".", "/") for table in model.upstream
        }, model.table
        assert node.group_name == model.layer
    snapshot = graph.get(AssetKey(["analytics", "published_snapshot"]))
    published = {model.table.replace(".", "/") for model in published_models()}
    assert {key.to_user_string() for key in snapshot.parent_keys} == published


def test_every_check_is_attached_to_the_asset_it_judges() -> None:
    graph = build_definitions().resolve_asset_graph()
    attached = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    unique = {
        (model.table.replace(".", "/"), "unique_" + "_".join(model.key_columns))
        for model in MODELS
        if model.key and model.layer != "raw"
    }
    assert ("core/appointment_hosts", "unique_tenant_id_appointment_id_user_id") in unique
    assert attached == unique | {
        ("raw/appointments", "row_counts_against_api"),
        ("raw/webhook_events", "webhook_log_not_silent"),
        ("core/appointments", "non_null_keys"),
        ("core/appointments", "references_known_entities"),
        ("core/rejected_booking_events", "no_rejected_booking_events"),
        ("analytics/usage_billing_monthly", "usage_within_plan"),
        ("analytics/webhook_reconciliation", "reconciliation_within_threshold"),
    }
