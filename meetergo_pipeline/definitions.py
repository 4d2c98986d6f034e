"""The code location: every asset, check, job, schedule and sensor, configured from env."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import Definitions

from meetergo_pipeline.defs.assets.analytics import analytics_tables, published_snapshot
from meetergo_pipeline.defs.assets.core import core_tables
from meetergo_pipeline.defs.assets.raw import raw_api_tables, raw_webhook_events
from meetergo_pipeline.defs.dead_runs import build_dead_run_sensor
from meetergo_pipeline.defs.jobs import (
    build_jobs,
    build_schedules,
    build_webhook_sensor,
)
from meetergo_pipeline.defs.resources import build_resources
from meetergo_pipeline.settings import Settings


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    """Definitions from the environment (`os.environ` by default); a bad setting raises one
    ValueError naming every bad variable."""
    settings = Settings.from_env(environ)
    return Definitions(
        assets=[
            raw_api_tables,
            raw_webhook_events,
            core_tables,
            analytics_tables,
            published_snapshot,
        ],
        jobs=build_jobs(settings.step_retries, settings.step_retry_delay_s),
        schedules=build_schedules(
            settings.sync_cron,
            settings.full_sweep_cron,
            settings.schedule_timezone,
            running=settings.automation_on,
        ),
        sensors=[
            build_webhook_sensor(settings.webhook_log_dir, running=settings.automation_on),
            build_dead_run_sensor(),
        ],
        resources=build_resources(settings),
    )


defs = build_definitions()
