"""The model catalogue as Dagster sees it: asset keys, asset specs and unique-key checks."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey, AssetSpec

from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.models import Layer, Model, models_in
from meetergo_pipeline.transform.checks import (
    check_description,
    check_unique_ids,
    unique_id_check_description,
)


def asset_key(model: Model) -> AssetKey:
    """`core.appointments` -> AssetKey(["core", "appointments"])."""
    return AssetKey([model.layer, model.name])


def table_key(table: str) -> AssetKey:
    """The asset key of a qualified table name."""
    return AssetKey(table.split("."))


def asset_spec(model: Model) -> AssetSpec:
    """The model's asset, grouped by layer, depending on exactly the tables it reads."""
    return AssetSpec(
        asset_key(model),
        description=model.description,
        deps=[table_key(table) for table in model.upstream],
        group_name=model.layer,
        kinds={"duckdb"},
    )


def check_spec(name: str, asset: AssetKey, *, blocking: bool = False) -> AssetCheckSpec:
    """The check `name` on `asset`, described (what it protects, what to do when it fails) by
    `CHECK_DESCRIPTIONS` in transform/checks.py."""
    return AssetCheckSpec(name, asset=asset, blocking=blocking, description=check_description(name))


def unique_key_check_name(model: Model) -> str:
    """`unique_<key column>`, a composite key's columns joined (`unique_tenant_id_user_id`)."""
    return "unique_" + "_".join(model.key_columns)


def unique_key_check_specs(layer: Layer) -> list[AssetCheckSpec]:
    """A blocking unique-key check on every model of `layer` that has a key column."""
    return [
        AssetCheckSpec(
            unique_key_check_name(model),
            asset=asset_key(model),
            blocking=True,
            description=unique_id_check_description(model.table, ", ".join(model.key_columns)),
        )
        for model in models_in(layer)
        if model.key
    ]


def unique_key_check_results(
    con: duckdb.DuckDBPyConnection, layer: Layer
) -> Iterator[AssetCheckResult]:
    """The results of `unique_key_check_specs(layer)`, over the tables as built."""
    for model in models_in(layer):
        if model.key:
            outcome = check_unique_ids(con, model.table, model.key_columns)
            yield to_check_result(asset_key(model), unique_key_check_name(model), outcome)
