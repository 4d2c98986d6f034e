"""The code location as `dagster dev` loads it, and the instance in dagster.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, WEBHOOK_JOB
from meetergo_pipeline.warehouse.sync import SyncPolicy

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


def test_resources_carry_the_checked_settings_and_the_key_as_an_env_var() -> None:
    defs = build_definitions(
        {
            "MEETERGO_PLAN_CURRENCY": "chf",
            "MEETERGO_SYNC_WORKERS": "7",
            "MEETERGO_API_BUDGET_DIR": "/srv/meetergo/budget",
            "MEETERGO_DUCKDB_PATH": "/srv/meetergo/working.duckdb",
        }
    )
    resources = defs.resources
    assert resources is not None
    api = resources["meetergo_api"]
    assert api.api_key.env_var_name == "MEETERGO_API_KEY"  # resolved at run time, never shown
    assert api.budget_state_dir == "/srv/meetergo/budget"
    assert api.budget_share == 0.5
    assert resources["warehouse"].database == "/srv/meetergo/working.duckdb"
    assert resources["analytics_settings"].plan_currency == "CHF"
    assert resources["sync_settings"].policy() == SyncPolicy(workers=7)


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
