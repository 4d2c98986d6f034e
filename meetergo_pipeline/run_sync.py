"""Run the sync job through Dagster from the command line and summarise what it produced."""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import duckdb
from dagster import AssetKey, DagsterEventType, DagsterInstance, ExecuteInProcessResult

from meetergo_pipeline.dagster_home import persistent_instance
from meetergo_pipeline.defs.jobs import sync_config
from meetergo_pipeline.models import published_models
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.sql import load_sql


def run_sync_job(mode: str) -> int:
    """Materialize every asset once (the job the schedules run); 0 on success, 1 on failure."""
    from meetergo_pipeline.definitions import build_definitions

    snapshot = Settings.from_env().snapshot_path
    job = build_definitions().resolve_job_def("meetergo_sync")
    run_config = {
        **sync_config(mode),
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    started = time.perf_counter()
    # Dagster's imports leave ~200k long-lived objects, which every full garbage collection
    # during the run would traverse again; frozen, they stay out of the collector's way.
    # Unfrozen before exit, so interpreter shutdown still frees them (DuckDB's bindings
    # report objects alive at shutdown as leaks).
    gc.freeze()
    try:
        with _instance() as instance:
            result = job.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=False
            )
            elapsed = time.perf_counter() - started
            _print_summary(result, elapsed, snapshot)
    finally:
        gc.unfreeze()
    return 0 if result.success else 1


def _instance() -> DagsterInstance:
    """The persistent instance `make dev` shows (DAGSTER_HOME, by default data/dagster_home)."""
    return persistent_instance()


def step_failures(result: ExecuteInProcessResult) -> list[tuple[str, str]]:
    """(step, message) of every failed step, the message of the error's root cause.

    A step that gave up under its RetryPolicy fails with "Exceeded max_retries"; the error
    that made it give up is the last link of the cause chain.
    """
    failures = []
    for event in result.all_events:
        if event.event_type != DagsterEventType.STEP_FAILURE:
            continue
        error = event.step_failure_data.error  # type: ignore[union-attr]
        while error is not None and error.cause is not None:
            error = error.cause
        failures.append((event.step_key or "run", error.message.strip() if error else "failed"))
    return failures


def _print_summary(result: ExecuteInProcessResult, elapsed: float, snapshot: Path) -> None:
    out = sys.stdout
    failed_checks = [check for check in result.get_asset_check_evaluations() if not check.passed]
    print(f"\nsync {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s", file=out)
    for check in failed_checks:
        print(
            f"  check failed: {check.asset_key.to_user_string()} {check.check_name}: "
            f"{check.description}",
            file=out,
        )
    if not result.success:
        for step_key, message in step_failures(result):
            print(f"  {step_key}: {message}", file=out)
        return
    api = _api_sync_metadata(result)
    if api:
        print(f"  api: mode {api['mode']}, {api['requests_spent']} requests", file=out)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for model in published_models():
            sql = load_sql("tables/count_rows.sql", table=model.table)
            (rows,) = con.execute(sql).fetchone()  # type: ignore[misc]
            print(f"  {model.table:<36} {rows:>9} rows", file=out)
    finally:
        con.close()
    print(f"\nanalysts: meetergo-pipeline shell (or duckdb -readonly {snapshot})", file=out)


def _api_sync_metadata(result: ExecuteInProcessResult) -> dict[str, object]:
    """The API sync's figures (mode, requests_spent, ...) as its raw assets recorded them."""
    for materialization in result.asset_materializations_for_node("raw_api_tables"):
        if materialization.asset_key == AssetKey(["raw", "appointments"]):
            return {name: value.value for name, value in materialization.metadata.items()}
    return {}
