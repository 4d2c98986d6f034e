"""The settings table: every entry point's configuration, read and checked in one place."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from meetergo_pipeline.client import MeetergoCredentialError, build_client
from meetergo_pipeline.defs.resources import (
    AnalyticsSettings,
    MeetergoAPIResource,
    MeetergoWarehouse,
    WebhookLogResource,
)
from meetergo_pipeline.settings import DEFAULTS, SETTINGS, Settings, SettingsError
from meetergo_pipeline.transform import TransformSettings
from meetergo_pipeline.warehouse.sync import SyncPolicy

API_KEY = f"ak_live:{uuid.uuid4()}:SENTINELKEY"
TOKEN = "SENTINEL-token-0123456789"


def test_settings_has_one_attribute_per_row_in_the_tables_order() -> None:
    assert [f.name for f in fields(Settings)] == [setting.field for setting in SETTINGS]
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)
    assert all(setting.name.startswith("MEETERGO_") for setting in SETTINGS)


def test_defaults_elsewhere_are_the_tables() -> None:
    assert SyncPolicy() == SyncPolicy(
        lookback_days=7,
        horizon_days=30,
        overlap_minutes=15,
        rescan_every_hours=6,
        workers=4,
        commit_every_rows=20_000,
    )
    assert TransformSettings() == TransformSettings.from_settings(DEFAULTS)
    api = MeetergoAPIResource.model_fields
    assert api["base_url"].default == "https://api.meetergo.com"
    assert api["budget_share"].default == 0.5
    assert api["budget_state_dir"].default == "data/api_budget"
    assert MeetergoWarehouse.model_fields["snapshot_path"].default == str(DEFAULTS.snapshot_path)
    assert AnalyticsSettings.model_fields["reconciliation_warn_threshold"].default == 10
    assert WebhookLogResource.model_fields["log_dir"].default == "data/webhooks"


def test_environment_text_is_normalised_and_blank_means_the_default() -> None:
    settings = Settings.from_env(
        {
            "MEETERGO_PLAN_CURRENCY": " chf ",
            "MEETERGO_SYNC_WORKERS": " 7 ",
            "MEETERGO_SNAPSHOT_PATH": "  ",
            "MEETERGO_PLAN_PRICE_PER_BOOKING": "0.35",
            "MEETERGO_API_BUDGET_DIR": "/srv/meetergo/budget",
        }
    )
    assert settings.plan_currency == "CHF"
    assert settings.sync_workers == 7
    assert settings.snapshot_path == Path("data/meetergo_analytics.duckdb")
    assert settings.plan_price_per_booking == Decimal("0.35")
    assert settings.client.budget_dir == Path("/srv/meetergo/budget")
    assert settings.api_key is None and settings.webhook_token is None


def test_every_bad_variable_is_named_at_once_and_no_secret_is_shown() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "MEETERGO_API_KEY": "ak_live:SENTINEL",
                "MEETERGO_API_BASE_URL": "api.meetergo.com",
                "MEETERGO_API_BUDGET_SHARE": "1.5",
                "MEETERGO_WEBHOOK_TOKEN": "SENTINEL/with/slashes",
                "MEETERGO_PLAN_PRICE_PER_BOOKING": "free",
            }
        )
    assert raised.value.problems == [
        "MEETERGO_API_KEY must be a platform API key ak_live:<uuid>:<secret> or a personal "
        "access token rgo-<32 letters or digits>, the value given is not shown",
        "MEETERGO_API_BASE_URL must be an http:// or https:// URL, got 'api.meetergo.com'",
        "MEETERGO_API_BUDGET_SHARE must be a number > 0 and <= 1, got '1.5'",
        "MEETERGO_WEBHOOK_TOKEN must be at least 16 URL-safe characters "
        "(letters, digits, - _ . ~), the value given is not shown",
        "MEETERGO_PLAN_PRICE_PER_BOOKING must be a number >= 0, got 'free'",
    ]
    assert str(raised.value).startswith("5 settings are invalid:\n  MEETERGO_API_KEY must be")
    assert "SENTINEL" not in str(raised.value)


def test_no_repr_shows_a_secret() -> None:
    settings = Settings.from_env({"MEETERGO_API_KEY": API_KEY, "MEETERGO_WEBHOOK_TOKEN": TOKEN})
    assert settings.api_key == API_KEY and settings.webhook_token == TOKEN
    for text in (repr(settings), repr(settings.client)):
        assert "SENTINEL" not in text


def test_building_a_client_without_a_key_names_the_variable() -> None:
    with pytest.raises(MeetergoCredentialError, match="MEETERGO_API_KEY is not set"):
        build_client(DEFAULTS.client)


@pytest.mark.parametrize(
    "cron",
    [
        "0 * * * *",
        "30 3 * * *",
        "59 23 31 * 6",
        "*/20 6-22 * * 1-5",
        "0 0 1 1 *",
        "0 0 * * 7",
        "00 1 * * *",
        "@hourly",
        "61 * * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "0 0 30 2 *",
        "* * * *",
        "* * * * * *",
        "every hour",
    ],
)
def test_a_cron_is_valid_exactly_when_dagster_accepts_it(cron: str) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    environ = {"MEETERGO_SYNC_CRON": cron}
    if is_valid_cron_string(cron):
        assert Settings.from_env(environ).sync_cron == cron
        return
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert raised.value.problems == [
        "MEETERGO_SYNC_CRON must be a cron expression of five fields (minute hour day-of-month "
        f"month day-of-week) that Dagster accepts, such as 0 * * * *, got {cron!r}"
    ]


@pytest.mark.slow
def test_reading_the_default_settings_does_not_import_dagster() -> None:
    """The receiver and the light commands read every setting; Dagster costs ~2 s to import."""
    code = "import sys, meetergo_pipeline.settings; print('dagster' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"
