"""The code location: every asset, check, job, schedule and sensor, configured from env."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import Definitions

from meetergo_pipeline.defs.assets.analytics import analytics_tables, published_snapshot
from meetergo_pipeline.defs.assets.core import core_tables
from meetergo_pipeline.defs.assets.raw import build_raw_api_asset, raw_webhook_events
from meetergo_pipeline.defs.dead_runs import build_dead_run_sensor
from meetergo_pipeline.defs.jobs import (
    build_jobs,
    build_partial_sync_rebuild_sensor,
    build_schedules,
    build_webhook_sensor,
)
from meetergo_pipeline.defs.resources import build_resources
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.tenants import load_tenants


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    """Definitions from the environment (`os.environ` by default); a bad setting or tenants
    file raises one ValueError naming every problem.

    With a tenants file (`MEETERGO_TENANTS_FILE`) the raw API asset has one partition per
    tenant, and the schedules sync them all in one run."""
    settings = Settings.from_env(environ)
    tenant_ids = (
        None
        if settings.tenants_file is None
        else tuple(tenant.id for tenant in load_tenants(settings, environ))
    )
    jobs = build_jobs(settings.step_retries, settings.step_retry_delay_s)
    sensors = [
        build_webhook_sensor(settings.webhook_log_dir, running=settings.automation_on),
        build_dead_run_sensor(),
    ]
    if tenant_ids is not None:
        sensors.append(
            build_partial_sync_rebuild_sensor(jobs[0], jobs[1], running=settings.automation_on)
        )
    return Definitions(
        assets=[
            build_raw_api_asset(tenant_ids),
            raw_webhook_events,
            core_tables,
            analytics_tables,
            published_snapshot,
        ],
        jobs=jobs,
        schedules=build_schedules(
            settings.sync_cron,
            settings.full_sweep_cron,
            settings.schedule_timezone,
            running=settings.automation_on,
            tenant_ids=tenant_ids,
        ),
        sensors=sensors,
        resources=build_resources(settings),
    )


defs = build_definitions()
