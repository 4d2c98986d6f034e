"""The code location: every asset, check, job, schedule and sensor, configured from env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dagster import Definitions

from meetergo_pipeline.defs.assets.analytics import analytics_tables, published_snapshot
from meetergo_pipeline.defs.assets.core import core_tables
from meetergo_pipeline.defs.assets.raw import raw_api_tables, raw_webhook_events
from meetergo_pipeline.defs.env import resources_from_env, setting
from meetergo_pipeline.defs.jobs import (
    build_jobs,
    build_schedules,
    build_webhook_sensor,
)


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    env = environ if environ is not None else os.environ
    return Definitions(
        assets=[
            raw_api_tables,
            raw_webhook_events,
            core_tables,
            analytics_tables,
            published_snapshot,
        ],
        jobs=build_jobs(
            setting("MEETERGO_STEP_RETRIES", env), setting("MEETERGO_STEP_RETRY_DELAY_S", env)
        ),
        schedules=build_schedules(
            setting("MEETERGO_SYNC_CRON", env),
            setting("MEETERGO_FULL_SWEEP_CRON", env),
            setting("MEETERGO_SCHEDULE_TIMEZONE", env),
        ),
        sensors=[build_webhook_sensor(Path(setting("MEETERGO_WEBHOOK_LOG_DIR", env)))],
        resources=resources_from_env(env),
    )


defs = build_definitions()
