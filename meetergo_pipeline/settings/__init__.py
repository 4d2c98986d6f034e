"""The pipeline's configuration: one table of environment variables, read in one place.

    settings = Settings.from_env()      # every variable parsed and checked at once
    settings.sync_workers               # typed: int
    build_client(settings.client)       # meetergo_pipeline.client

Every entry point (the Dagster code location, the CLI commands, the webhook receiver) reads
its configuration through `Settings.from_env`; other modules take their defaults from
`DEFAULTS`. The table itself is `SETTINGS` in `.table`. Nothing here imports Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from meetergo_pipeline.settings.table import BY_FIELD, SETTINGS, Setting

__all__ = [
    "DEFAULTS",
    "SETTINGS",
    "ClientSettings",
    "Setting",
    "Settings",
    "SettingsError",
    "check_values",
    "markdown_table",
    "variable",
]


class SettingsError(ValueError):
    """One or more settings are invalid; `problems` has one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(problems[0])
        else:
            super().__init__(f"{len(problems)} settings are invalid:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class ClientSettings:
    """What `meetergo_pipeline.client.build_client` needs to open the API client."""

    api_key: str | None = field(repr=False)
    base_url: str
    acting_user_id: str | None
    budget_share: float
    rate_limit_per_minute: float
    rate_limit_burst: float
    budget_dir: Path


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed; one attribute per row of the table, in the table's order."""

    api_key: str | None = field(repr=False)
    api_base_url: str
    api_user_id: str | None
    api_budget_share: float
    api_rate_limit_per_minute: float
    api_rate_limit_burst: float
    api_budget_dir: Path
    tenants_file: Path | None
    duckdb_path: Path
    duckdb_memory_limit: str
    writer_lock_wait_s: float
    warehouse: str
    ducklake_catalog: str | None = field(repr=False)
    ducklake_data_path: str | None
    ducklake_published_path: str | None
    ducklake_s3_endpoint: str | None
    ducklake_s3_key_id: str | None
    ducklake_s3_secret: str | None = field(repr=False)
    ducklake_s3_region: str
    snapshot_path: Path
    snapshot_mode: int
    pseudonym_key: str | None = field(repr=False)
    sync_workers: int
    sync_commit_every_rows: int
    sync_lookback_days: float
    sync_horizon_days: float
    sync_overlap_minutes: float
    sync_rescan_every_hours: float
    step_retries: int
    step_retry_delay_s: float
    sync_cron: str
    full_sweep_cron: str
    schedule_timezone: str
    automation: bool | None
    webhook_token: str | None = field(repr=False)
    webhook_log_dir: Path
    webhook_inbox_url: str | None = field(repr=False)
    webhook_header_timeout_s: float
    webhook_body_timeout_s: float
    webhook_keepalive_s: float
    webhook_max_connections: int
    webhook_silence_warn_minutes: float
    reconciliation_warn_threshold: int
    reporting_timezone: str
    metered_booking_predicate: str
    api_bookings_file: Path | None
    plan_included_bookings: int
    plan_price_per_booking: Decimal
    plan_currency: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; unset or blank ones take their defaults.

        Raises one `SettingsError` (a `ValueError`) naming each bad variable, what it must
        be and the text given (a secret's text is never shown).
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for setting in SETTINGS:
            raw = env.get(setting.name, "").strip()
            text = raw or setting.default
            try:
                values[setting.field] = None if text is None else setting.kind.parse(text)
            except ValueError as error:
                problems.append(_problem(setting, error, raw))
        if problems:
            raise SettingsError(problems)
        return cls(**values)

    @property
    def client(self) -> ClientSettings:
        return ClientSettings(
            api_key=self.api_key,
            base_url=self.api_base_url,
            acting_user_id=self.api_user_id,
            budget_share=self.api_budget_share,
            rate_limit_per_minute=self.api_rate_limit_per_minute,
            rate_limit_burst=self.api_rate_limit_burst,
            budget_dir=self.api_budget_dir,
        )

    @property
    def automation_on(self) -> bool:
        """Whether the schedules and the sensor start switched on: `MEETERGO_AUTOMATION` when
        set, else whether an API key is configured."""
        return self.automation if self.automation is not None else self.api_key is not None

    def listing(self, environ: Mapping[str, str] | None = None) -> str:
        """One line per variable: its value in effect (secrets: set or not) and its source."""
        env = os.environ if environ is None else environ
        width = max(len(setting.name) for setting in SETTINGS)
        lines = []
        for setting in SETTINGS:
            value = getattr(self, setting.field)
            if setting.secret:
                shown = "(set, not shown)" if value is not None else "(not set)"
            elif value is None:
                shown = "(not set)"
            elif isinstance(value, bool):
                shown = "on" if value else "off"
            else:
                shown = f"{value:g}" if isinstance(value, float) else str(value)
            source = "environment" if env.get(setting.name, "").strip() else "default"
            lines.append(f"{setting.name:<{width}}  {shown}  [{source}]")
        return "\n".join(lines)


def _problem(setting: Setting, error: ValueError, given: object) -> str:
    shown = "the value given is not shown" if setting.secret else f"got {given!r}"
    return f"{setting.name} must be {error}, {shown}"


def check_values(values: Mapping[str, Any]) -> None:
    """Check values given in code against the table, keyed by `Settings` attribute name.

    Raises one `SettingsError` naming the variable of each bad value.
    """
    problems = []
    for name, value in values.items():
        setting = BY_FIELD[name]
        try:
            setting.kind.check(value)
        except ValueError as error:
            problems.append(_problem(setting, error, value))
    if problems:
        raise SettingsError(problems)


def variable(name: str) -> str:
    """The environment variable behind a `Settings` attribute (KeyError if there is none)."""
    return BY_FIELD[name].name


def markdown_table() -> str:
    """The README's Configuration table, generated from the settings table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.shown_default} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(rows)


DEFAULTS = Settings.from_env({})
"""Every setting at its default (secrets and other settings without a default: None)."""
