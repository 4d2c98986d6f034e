"""Run the sync job through Dagster from the command line and summarise what it produced."""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
)
from dagster._utils.error import SerializableErrorInfo

from meetergo_pipeline import stop
from meetergo_pipeline.dagster_home import persistent_instance
from meetergo_pipeline.defs.console import command_line_loggers
from meetergo_pipeline.defs.dead_runs import fail_dead_runs, process_tags
from meetergo_pipeline.defs.jobs import (
    RAW_API_STEP,
    SYNC_JOB,
    WEBHOOK_JOB,
    sync_config,
    tenant_range_tags,
)
from meetergo_pipeline.defs.stopping import execute_until_done_or_stopped
from meetergo_pipeline.models import published_models
from meetergo_pipeline.report import report_path_for
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.tenants import load_tenants


def run_sync_job(
    mode: str, *, verbose: bool = False, persistent: bool = False, tenant: str | None = None
) -> int:
    """Materialize every asset once (the job the schedules run).

    With a tenants file the run syncs every tenant's partition, or only `tenant`'s. When some
    tenants fail and others sync, the failed tenants are lines of the summary, core,
    analytics and the snapshot are then rebuilt from what arrived (the webhook refresh job,
    no API calls), and the exit code is 1.

    Returns 0 on success, 1 on failure, and 128 + the signal's number (130 for SIGINT, 143
    for SIGTERM) when a signal stopped it. The job runs on a worker thread while this
    (main) thread takes the signals (`execute_until_done_or_stopped`); committed rows
    stay, nothing is retried. The run is recorded in the instance `make dev` shows when
    `persistent` or DAGSTER_HOME is set, else in an ephemeral one; on a persistent instance,
    writer runs whose process is gone are failed first and this run records its own process
    (`defs/dead_runs.py`). Progress shows one line at a time; a failed step is one line of
    the summary, with Dagster's tracebacks only when `verbose`.
    """
    from meetergo_pipeline.definitions import build_definitions

    settings = Settings.from_env()
    snapshot = settings.snapshot_path
    definitions = build_definitions()
    job = definitions.resolve_job_def(SYNC_JOB)
    rebuild = definitions.resolve_job_def(WEBHOOK_JOB)
    loggers = {"console": {"config": {"log_level": "INFO"}}}
    if not verbose:
        job, loggers = job.with_logger_defs(command_line_loggers()), {"console": {}}
        rebuild = rebuild.with_logger_defs(command_line_loggers())
    run_config = {**sync_config(mode), "loggers": loggers}
    tags = process_tags()
    if settings.tenants_file is not None:
        tenant_ids = [tenant] if tenant else [t.id for t in load_tenants(settings)]
        tags = {**tags, **tenant_range_tags(tenant_ids[0], tenant_ids[-1])}
    run_id = str(uuid.uuid4())
    started = time.perf_counter()
    # Dagster's imports leave ~200k long-lived objects, which every full garbage collection
    # during the run would traverse again; frozen, they stay out of the collector's way.
    # Unfrozen before exit, so interpreter shutdown still frees them (DuckDB's bindings
    # report objects alive at shutdown as leaks).
    gc.freeze()
    try:
        with _instance(persistent) as instance:
            for dead in fail_dead_runs(instance):
                print(f"run {dead} had lost its process: marked failed", file=sys.stderr)
            result = execute_until_done_or_stopped(
                lambda: job.execute_in_process(
                    run_config=run_config,
                    instance=instance,
                    raise_on_error=False,
                    run_id=run_id,
                    tags=tags,
                ),
                instance,
                run_id,
            )
            if not result.success and stop.exit_code() is None and synced_tenants(result):
                _print_summary(result, time.perf_counter() - started, snapshot, partial=True)
                rebuild_id = str(uuid.uuid4())
                result = execute_until_done_or_stopped(
                    lambda: rebuild.execute_in_process(
                        run_config={"loggers": loggers},
                        instance=instance,
                        raise_on_error=False,
                        run_id=rebuild_id,
                        tags=process_tags(),
                    ),
                    instance,
                    rebuild_id,
                )
                print("\nrebuilt core, analytics and the snapshot from the tenants that synced")
                _print_summary(result, time.perf_counter() - started, snapshot)
                return stop.exit_code() or 1
            _print_summary(result, time.perf_counter() - started, snapshot)
    finally:
        gc.unfreeze()
    return stop.exit_code() or (0 if result.success else 1)


def synced_tenants(result: ExecuteInProcessResult) -> list[str]:
    """The tenants whose raw API partitions the run materialized before its raw API step
    failed for the others; empty when that step did not fail."""
    if RAW_API_STEP not in {step for step, _ in step_failures(result)}:
        return []
    return sorted(
        {
            materialization.partition
            for materialization in result.asset_materializations_for_node(RAW_API_STEP)
            if materialization.partition is not None
        }
    )


def _instance(persistent: bool) -> DagsterInstance:
    """The instance `make dev` shows (DAGSTER_HOME, by default data/dagster_home) when
    `persistent` or DAGSTER_HOME is set; else an ephemeral one (no history, and none of the
    cost of writing every event of the run to SQLite)."""
    if persistent or os.environ.get("DAGSTER_HOME"):
        return persistent_instance()
    return DagsterInstance.ephemeral()


def step_failures(result: ExecuteInProcessResult) -> list[tuple[str, str]]:
    """(step, message) of every failed step, the message of the error's root cause.

    A step that gave up under its RetryPolicy fails with "Exceeded max_retries"; the error
    that made it give up is the last link of the cause chain.
    """
    return [
        (event.step_key or "run", _root_cause(event.step_failure_data.error))  # type: ignore[union-attr]
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_FAILURE
    ]


def run_failures(result: ExecuteInProcessResult) -> list[tuple[str, str]]:
    """("run", message) of the first error that failed the run outside any step (e.g. the
    writer lock not free), the message of its root cause."""
    run_errors = (DagsterEventType.RESOURCE_INIT_FAILURE, DagsterEventType.RUN_FAILURE)
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if event.event_type in run_errors and error is not None:
            return [("run", _root_cause(error))]
    return []


def _root_cause(error: SerializableErrorInfo | None) -> str:
    """The message of the last error of the cause chain, without the error's class name (a
    `dagster.Failure` reads as its description)."""
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    return re.sub(rf"^[\w.]*\b{re.escape(error.cls_name or '')}: ", "", error.message.strip())


def _print_summary(
    result: ExecuteInProcessResult, elapsed: float, snapshot: Path, *, partial: bool = False
) -> None:
    """The run's outcome: failed checks with their severity, failed steps, or the tables,
    this month's billing headline and, last, where the snapshot is and how to open it.
    `partial`: a sync in which some tenants synced (named) and others failed."""
    out = sys.stdout
    code = stop.exit_code()
    if code is not None:
        name = signal.Signals(code - 128).name
        print(f"\nsync stopped by {name} after {elapsed:.1f} s; committed rows are kept", file=out)
        return
    failed_checks = [check for check in result.get_asset_check_evaluations() if not check.passed]
    print(f"\nsync {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s", file=out)
    for check in failed_checks:
        print(
            f"  {check.severity.value:<5} check {check.asset_key.to_user_string()} "
            f"{check.check_name}: {check.description}",
            file=out,
        )
    if not result.success:
        if partial:
            print(f"  tenants synced: {', '.join(synced_tenants(result))}", file=out)
        for step_key, message in step_failures(result) or run_failures(result):
            print(f"  {step_key}: {message}", file=out)
        return
    api = _api_sync_metadata(result)
    if api:
        tenants = f" over {api['tenants']} tenants" if api.get("tenants") else ""
        print(f"  api: mode {api['mode']}, {api['requests_spent']} requests{tenants}", file=out)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for model in published_models():
            sql = load_sql("tables/count_rows.sql", table=model.table)
            (rows,) = one_row(con, sql)
            print(f"  {model.table:<36} {rows:>9} rows", file=out)
        events, webhook_only, updated = one_row(con, load_sql("summary/webhook_share.sql"))
        print(
            f"\nwebhooks: {events} booking events; {webhook_only} bookings known only from "
            f"webhooks so far, {updated} changed by a webhook since their last API read",
            file=out,
        )
        running_month = _running_month_usage(con)
    finally:
        con.close()
    if running_month is not None:
        print("", *billing_headline(running_month), sep="\n", file=out)
    print(f"\nanalysts: meetergo-pipeline shell (or duckdb -readonly {snapshot})", file=out)
    print(f"report:   {report_path_for(snapshot)}", file=out)


def _running_month_usage(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The running billing month's row of the snapshot's usage (the report's own query)."""
    cursor = con.execute(load_sql("report/usage_by_month.sql"), {"months": 1})
    names = [column[0] for column in cursor.description or ()]
    months = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return next((month for month in months if month["is_running_month"]), None)


def billing_headline(month: dict[str, Any]) -> list[str]:
    """Two lines on the running month's metered bookings against the plan: so far, and as
    projected to month end with the projected cost and the alert status.

    `month` is a row of sql/report/usage_by_month.sql.
    """
    included = month["plan_included_bookings"]
    currency = month["currency"]
    return [
        f"billing:  {month['billing_month']:%Y-%m} so far {month['api_bookings']} metered "
        f"bookings{_of_plan(month['share_of_plan'], included)}, "
        f"cost {month['estimated_cost']} {currency}",
        f"          projected {month['projected_api_bookings']} by month end"
        f"{_of_plan(month['projected_share_of_plan'], included)}, "
        f"cost {month['projected_estimated_cost']} {currency}; "
        f"alert {month['alert_status']} ({month['alert_rule']})",
    ]


def _of_plan(share: float | None, included: int) -> str:
    if share is None:
        return ""
    return f" = {share * 100:.1f} % of the {included} included"


def _api_sync_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    """The API sync's figures (mode, requests_spent, ...) as its raw assets recorded them;
    with several tenants' partitions, their modes and the requests summed, and `tenants`."""
    recorded: list[dict[str, Any]] = [
        {name: value.value for name, value in materialization.metadata.items()}
        for materialization in result.asset_materializations_for_node("raw_api_tables")
        if materialization.asset_key == AssetKey(["raw", "appointments"])
    ]
    if len(recorded) <= 1:
        return recorded[0] if recorded else {}
    return {
        "mode": ", ".join(sorted({str(figures.get("mode")) for figures in recorded})),
        "requests_spent": sum(int(figures.get("requests_spent") or 0) for figures in recorded),
        "tenants": len(recorded),
    }
