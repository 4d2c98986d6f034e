"""The code location as `dagster dev` loads it, and the instance in dagster.yaml."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from dagster import AssetKey

from meetergo_pipeline.dagster_home import dagster_home, persistent_instance, prepare_dagster_home
from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, WEBHOOK_JOB
from meetergo_pipeline.models import MODELS
from meetergo_pipeline.models import model as model_of
from meetergo_pipeline.settings import SettingsError
from meetergo_pipeline.transform.checks import CHECK_DESCRIPTIONS
from meetergo_pipeline.warehouse.sync import SyncPolicy

API_KEY = "rgo-" + "a" * 32
SCHEDULES = ("meetergo_hourly_incremental", "meetergo_daily_full_sweep")


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
    assert {
        "unique_tenant_id_appointment_id",
        "usage_within_plan",
        "webhook_log_not_silent",
    } <= checks


def test_every_asset_and_every_check_says_what_it_is() -> None:
    graph = build_definitions().resolve_asset_graph()
    for model in MODELS:
        assert graph.get(AssetKey([model.layer, model.name])).description == model.description
    for key in graph.get_all_asset_keys():
        assert len(graph.get(key).description or "") > 20, key
    specs = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    keyed_models = [model for model in MODELS if model.key is not None and model.layer != "raw"]
    assert len(specs) == len(keyed_models) + len(CHECK_DESCRIPTIONS)
    for spec in specs:
        assert spec.description and "On failure" in spec.description, spec.name
        if spec.name in CHECK_DESCRIPTIONS:
            assert spec.description == CHECK_DESCRIPTIONS[spec.name]
        else:
            table = ".".join(spec.asset_key.path)
            key = ", ".join(model_of(table).key_columns)
            assert f"No {key} occurs twice in {table}" in spec.description
    assert set(CHECK_DESCRIPTIONS) <= {spec.name for spec in specs}


@pytest.mark.parametrize(
    ("environ", "running"),
    [
        ({}, False),
        ({"MEETERGO_API_KEY": API_KEY}, True),
        ({"MEETERGO_API_KEY": API_KEY, "MEETERGO_AUTOMATION": "off"}, False),
        ({"MEETERGO_AUTOMATION": " On "}, True),
    ],
)
def test_schedules_and_the_sensor_start_on_only_with_automation(
    environ: dict[str, str], running: bool
) -> None:
    """Without a key (or with `dev`'s simulator, which sets MEETERGO_AUTOMATION=off) every
    tick would fail or sync a throwaway tenant, so they start switched off."""
    defs = build_definitions(environ)
    expected = "RUNNING" if running else "STOPPED"
    for name in SCHEDULES:
        assert defs.resolve_schedule_def(name).default_status.value == expected
    assert defs.resolve_sensor_def("meetergo_webhook_log").default_status.value == expected


def test_a_bad_automation_switch_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="MEETERGO_AUTOMATION must be on or off, got 'maybe'"):
        build_definitions({"MEETERGO_AUTOMATION": "maybe"})


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
    """The default instance folder, under the working directory, gets the project's config."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    with persistent_instance() as instance:
        config = instance.get_concurrency_config().run_queue_config
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert {"key": "meetergo/warehouse", "limit": 1} in config.tag_concurrency_limits
        assert instance.run_monitoring_enabled
        assert instance.root_directory == str(tmp_path / "data" / "dagster_home")
    assert (tmp_path / "data" / "dagster_home" / "history" / "runs.db").is_file()


def test_an_existing_instance_config_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "elsewhere"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert dagster_home() == home
    with persistent_instance() as instance:
        assert not instance.run_monitoring_enabled
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    assert prepare_dagster_home(tmp_path / "new") == tmp_path / "new"
    shipped = files("meetergo_pipeline").joinpath("dagster.yaml").read_text(encoding="utf-8")
    assert (tmp_path / "new" / "dagster.yaml").read_text() == shipped
