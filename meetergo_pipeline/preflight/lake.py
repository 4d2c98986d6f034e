"""The preflight's DuckLake checks (with `MEETERGO_WAREHOUSE=ducklake` only).

The lake's settings, its extensions (never installed here), its catalog attached read-only
within `PROBE_TIMEOUT_S`, the memory cap a lake needs, and its local data folders; an
`s3://` path is first written by a sync, so it is not probed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from meetergo_pipeline.preflight.finding import PROBE_TIMEOUT_S, Finding
from meetergo_pipeline.preflight.folders import folder_problem
from meetergo_pipeline.settings import Settings, variable
from meetergo_pipeline.warehouse.lake import (
    LAKE_MIN_MEMORY,
    LakeNotCreatedError,
    LakeSettings,
    LakeSetupError,
    attach_lake,
    load_extensions,
    memory_bytes,
)


def lake_findings(settings: Settings) -> list[Finding]:
    """With `MEETERGO_WAREHOUSE=ducklake`: the lake's settings, its extensions, its catalog
    (attached read-only) and its local folders (an `s3://` path is first written by a sync)."""
    name = variable("warehouse")
    try:
        lake = LakeSettings.from_settings(settings)
    except LakeSetupError as error:
        return [Finding(False, str(error), name)]
    if lake is None:
        return []
    try:
        probe = duckdb.connect(config={"autoinstall_known_extensions": False})
        try:
            load_extensions(probe)
            probe.execute(f"SET http_timeout = {int(PROBE_TIMEOUT_S)}")
            attach_lake(probe, lake, read_only=True)
        finally:
            probe.close()
        attached = f"{name}: the DuckLake catalog {lake.catalog_name} attaches"
    except LakeNotCreatedError as error:
        attached = f"{name}: {error}"
    except LakeSetupError as error:
        return [Finding(False, str(error), name)]
    findings = [Finding(True, attached, name)]
    memory = variable("duckdb_memory_limit")
    given = memory_bytes(settings.duckdb_memory_limit)
    if given is not None and given < (memory_bytes(LAKE_MIN_MEMORY) or 0):
        findings.append(
            Finding(
                False,
                f"{memory}={settings.duckdb_memory_limit} is too little for a DuckLake "
                f"warehouse: set it to {LAKE_MIN_MEMORY} or more (a layer's rebuild writes its "
                "Parquet files in one transaction)",
                memory,
            )
        )
    folders = {"ducklake_data_path": lake.data_path, "ducklake_published_path": lake.published_path}
    for field, path in folders.items():
        if path is None or path.startswith("s3://"):
            continue
        setting = variable(field)
        problem = folder_problem(Path(path), setting)
        text = f"{setting}={path}: {problem}" if problem else f"{setting}: {path} is writable"
        findings.append(Finding(problem is None, text, setting))
    return findings
