"""The code location as `dagster dev` loads it, and the instance in dagster.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, WEBHOOK_JOB

PROJECT = Path(__file__).parents[1]


def test_every_layer_is_defined() -> None:
    defs = build_definitions()
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {
        "raw/appointments",
        "raw/webhook_events",
        "core/appointments",
        "analytics/usage_billing_monthly",
        "analytics/published_snapshot",
    } <= keys
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"unique_appointment_id", "usage_within_plan", "webhook_log_not_silent"} <= checks


def test_every_job_is_tagged_as_the_single_warehouse_writer() -> None:
    defs = build_definitions()
    for name in (SYNC_JOB, WEBHOOK_JOB):
        assert defs.resolve_job_def(name).tags["meetergo/warehouse"] == "writer"


def test_instance_queues_warehouse_writers_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(PROJECT))
    monkeypatch.chdir(tmp_path)  # storage paths in dagster.yaml are relative to the project
    with DagsterInstance.get() as instance:
        config = instance.get_concurrency_config().run_queue_config
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert {"key": "meetergo/warehouse", "limit": 1} in config.tag_concurrency_limits
        assert instance.run_monitoring_enabled
    assert (tmp_path / "data" / "dagster_home" / "storage").is_dir()
