"""Jobs, schedules and the webhook-log sensor.

Every job carries the `meetergo/warehouse` tag; dagster.yaml's run queue lets one run with
that tag proceed at a time, so the warehouse never has two writers (a scheduled sync and a
webhook-triggered rebuild queue behind each other instead of failing on DuckDB's lock).
Within a run, the steps share one process (the in-process executor): with Dagster's default
multiprocess executor the two raw steps ran at once in two processes and one waited out the
other's DuckDB file lock, and every step paid a process start of its own.

The schedules and the sensor start switched on only where `running` says so (the
`MEETERGO_AUTOMATION` setting, by default on when an API key is configured): with no key or
the simulator of `meetergo-pipeline dev`, every tick would fail or sync a tenant that exists
only for the session. The status applies until someone flips the switch in the UI; the
instance keeps that choice.
"""

from pathlib import Path

from dagster import (
    AssetSelection,
    Backoff,
    DagsterEventType,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Jitter,
    RetryPolicy,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    run_failure_sensor,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from meetergo_pipeline.defs.catalogue import asset_key
from meetergo_pipeline.models import raw_api_models

WRITER_TAG = "meetergo/warehouse"
WRITER_TAGS = {WRITER_TAG: "writer", "dagster/max_runtime": "7200"}
RAW_API = AssetSelection.assets(*(asset_key(model) for model in raw_api_models()))

SYNC_JOB = "meetergo_sync"
RAW_API_STEP = "raw_api_tables"
WEBHOOK_JOB = "meetergo_webhook_refresh"


def build_jobs(step_retries: int, retry_delay_s: float) -> list:
    """The sync job and the webhook-triggered rebuild.

    A step that fails (e.g. an API outage outlasting the client's own retries) is retried
    `step_retries` times, the first after `retry_delay_s`, then with exponential backoff and
    jitter; worst case per request: 6 HTTP attempts x (1 + step_retries) steps (README, The
    API client). Run retries (dagster.yaml) skip runs that failed in a step, so they do not
    multiply this.
    """
    retry = RetryPolicy(
        max_retries=step_retries,
        delay=retry_delay_s,
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )
    return [
        define_asset_job(
            SYNC_JOB,
            selection=AssetSelection.all(),
            tags=WRITER_TAGS,
            executor_def=in_process_executor,
            op_retry_policy=retry,
            description="API sync + webhook log -> core -> analytics -> published snapshot.",
        ),
        define_asset_job(
            WEBHOOK_JOB,
            selection=AssetSelection.all() - RAW_API,
            tags=WRITER_TAGS,
            executor_def=in_process_executor,
            op_retry_policy=retry,
            description="Webhook log -> core -> analytics -> published snapshot, no API calls.",
        ),
    ]


def sync_config(mode: str) -> dict:
    return {"ops": {"raw_api_tables": {"config": {"mode": mode}}}}


def tenant_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags that make one run sync the tenants' partitions `first` to `last` (in the
    tenants file's order; the raw API asset's backfill policy is a single run)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def build_schedules(
    sync_cron: str,
    full_sweep_cron: str,
    timezone: str,
    *,
    running: bool,
    tenant_ids: tuple[str, ...] | None = None,
) -> list[ScheduleDefinition]:
    """The hourly incremental sync and the daily full sweep, switched on when `running`; with
    `tenant_ids` (a tenants file) each run syncs every tenant's partition."""
    status = DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED
    return [
        _sync_schedule(
            "meetergo_hourly_incremental",
            sync_cron,
            "incremental",
            "New bookings since each user's high-water mark (MEETERGO_SYNC_CRON); every "
            "MEETERGO_SYNC_RESCAN_EVERY_HOURS also re-reads the window around today.",
            timezone=timezone,
            status=status,
            tenant_ids=tenant_ids,
        ),
        _sync_schedule(
            "meetergo_daily_full_sweep",
            full_sweep_cron,
            "full",
            "Reads the whole tenant and marks what the API no longer lists as deleted "
            "(MEETERGO_FULL_SWEEP_CRON).",
            timezone=timezone,
            status=status,
            tenant_ids=tenant_ids,
        ),
    ]


def _sync_schedule(
    name: str,
    cron: str,
    mode: str,
    description: str,
    *,
    timezone: str,
    status: DefaultScheduleStatus,
    tenant_ids: tuple[str, ...] | None,
) -> ScheduleDefinition:
    """One schedule of the sync job; with tenants, its run requests carry the partition range
    of every tenant (a schedule's own tags may not name partitions, a run request's may)."""
    if not tenant_ids:
        return ScheduleDefinition(
            name=name,
            job_name=SYNC_JOB,
            cron_schedule=cron,
            execution_timezone=timezone,
            run_config=sync_config(mode),
            default_status=status,
            description=description,
        )
    every_tenant = RunRequest(
        run_config=sync_config(mode), tags=tenant_range_tags(tenant_ids[0], tenant_ids[-1])
    )
    return ScheduleDefinition(
        name=name,
        job_name=SYNC_JOB,
        cron_schedule=cron,
        execution_timezone=timezone,
        execution_fn=lambda _context: every_tenant,
        default_status=status,
        description=f"{description} Every tenant, in one run.",
    )


def synced_some_tenants(run_id: str, instance: DagsterInstance) -> bool:
    """Whether a run's raw API step failed after materializing some tenants' partitions (a
    sync where some tenants failed and others synced)."""

    def raw_api_events(event_type: DagsterEventType) -> list:
        records = instance.get_records_for_run(run_id, of_type=event_type).records
        events = [record.event_log_entry.dagster_event for record in records]
        return [event for event in events if event and event.step_key == RAW_API_STEP]

    if not raw_api_events(DagsterEventType.STEP_FAILURE):
        return False
    materialized = raw_api_events(DagsterEventType.ASSET_MATERIALIZATION)
    return any(event.partition is not None for event in materialized)


def build_partial_sync_rebuild_sensor(
    sync_job: UnresolvedAssetJobDefinition,
    rebuild_job: UnresolvedAssetJobDefinition,
    *,
    running: bool,
) -> SensorDefinition:
    """After a sync run in which some tenants failed, rebuilds core, analytics and the
    snapshot from what the other tenants' syncs brought (the webhook refresh job: no API
    calls), so one tenant's outage does not hold back the rest."""

    @run_failure_sensor(
        name="meetergo_partial_sync_rebuild",
        monitored_jobs=[sync_job],
        request_job=rebuild_job,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description="Rebuilds core, analytics and the snapshot after a sync in which some "
        "tenants failed and others synced.",
    )
    def partial_sync_rebuild(context: RunFailureSensorContext):
        if not synced_some_tenants(context.dagster_run.run_id, context.instance):
            return SkipReason("no tenant synced in the failed run")
        return RunRequest(run_key=f"rebuild-after-{context.dagster_run.run_id}")

    return partial_sync_rebuild


def log_cursor(log_dir: Path) -> str:
    """Names and sizes of the log files: changes whenever the receiver appends."""
    files = sorted(log_dir.glob("*.json*")) if log_dir.is_dir() else []
    return ";".join(f"{p.name}:{p.stat().st_size}" for p in files)


def build_webhook_sensor(log_dir: Path, *, running: bool) -> SensorDefinition:
    """Starts the webhook refresh when the log in `log_dir` grew; switched on when `running`."""

    @sensor(
        name="meetergo_webhook_log",
        job_name=WEBHOOK_JOB,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description="Rebuilds core and analytics within a minute of new webhook log data.",
    )
    def webhook_log_sensor(context: SensorEvaluationContext):
        cursor = log_cursor(log_dir)
        if not cursor or cursor == context.cursor:
            return SkipReason(f"no new webhook log data in {log_dir}")
        context.update_cursor(cursor)
        return RunRequest(run_key=cursor)

    return webhook_log_sensor
