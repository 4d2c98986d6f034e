"""Every environment variable the code location reads, with its default, in one table.

Strings are passed to the resources as Dagster `EnvVar`s, so their values never show in the
Dagster UI; numbers are parsed here so that a bad value fails at load time with a message
naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import EnvVar

from meetergo_pipeline.defs.resources import (
    AnalyticsSettings,
    MeetergoAPIResource,
    MeetergoWarehouse,
    SyncSettings,
    WebhookLogResource,
)
from meetergo_pipeline.transform import TransformSettings
from meetergo_pipeline.warehouse.connection import DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class Number:
    """Parses a numeric setting and checks its range, so a value that cannot work (0 workers,
    a negative window, a budget share above 1) fails at load time naming the variable."""

    kind: type[int] | type[float]
    minimum: float
    maximum: float | None = None
    minimum_allowed: bool = True

    def __call__(self, raw: str) -> int | float:
        value = self.kind(raw)
        too_low = value < self.minimum or (value == self.minimum and not self.minimum_allowed)
        too_high = self.maximum is not None and value > self.maximum
        if not math.isfinite(value) or too_low or too_high:
            raise ValueError(raw)
        return value

    @property
    def expected(self) -> str:
        noun = "a whole number" if self.kind is int else "a number"
        lower = f"{'>=' if self.minimum_allowed else '>'} {self.minimum:g}"
        upper = f" and <= {self.maximum:g}" if self.maximum is not None else ""
        return f"{noun} {lower}{upper}"


COUNT = Number(int, 0)
AT_LEAST_ONE = Number(int, 1)
NON_NEGATIVE = Number(float, 0)
POSITIVE = Number(float, 0, minimum_allowed=False)
SHARE = Number(float, 0, 1, minimum_allowed=False)


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    meaning: str
    parse: Callable[[str], Any] = str
    secret: bool = False


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "MEETERGO_API_KEY",
            None,
            "platform API key ak_live:<uuid>:<secret> or rgo- token",
            secret=True,
        ),
        Setting("MEETERGO_API_BASE_URL", "https://api.meetergo.com", "API base URL"),
        Setting(
            "MEETERGO_API_USER_ID", "", "acting admin user id; unset: resolved via /v4/user/me"
        ),
        Setting("MEETERGO_API_BUDGET_SHARE", "0.5", "share of the key's rate limit to use", SHARE),
        Setting(
            "MEETERGO_API_RATE_LIMIT_PER_MINUTE",
            "100",
            "the key's rate limit (requests/minute) the budget share is taken of",
            POSITIVE,
        ),
        Setting(
            "MEETERGO_API_RATE_LIMIT_BURST",
            "200",
            "the key's burst (bucket size) the budget share is taken of",
            POSITIVE,
        ),
        Setting("MEETERGO_API_BUDGET_DIR", "", "folder for a rate budget shared across processes"),
        Setting(
            "MEETERGO_DUCKDB_PATH", "data/meetergo.duckdb", "working DuckDB file (writer only)"
        ),
        Setting(
            "MEETERGO_DUCKDB_MEMORY_LIMIT",
            DEFAULT_MEMORY_LIMIT,
            "DuckDB memory cap of the pipeline (spills to disk beyond it)",
        ),
        Setting(
            "MEETERGO_SNAPSHOT_PATH",
            "data/meetergo_analytics.duckdb",
            "read-only snapshot for analysts",
        ),
        Setting(
            "MEETERGO_SYNC_COMMIT_EVERY_ROWS",
            "20000",
            "commit API rows at the next user boundary after this many (progress a crash may lose)",
            AT_LEAST_ONE,
        ),
        Setting("MEETERGO_SYNC_WORKERS", "4", "users read in parallel", AT_LEAST_ONE),
        Setting(
            "MEETERGO_SYNC_LOOKBACK_DAYS", "7", "re-scan window start: now - N days", NON_NEGATIVE
        ),
        Setting(
            "MEETERGO_SYNC_HORIZON_DAYS", "30", "re-scan window end: now + N days", NON_NEGATIVE
        ),
        Setting(
            "MEETERGO_SYNC_OVERLAP_MINUTES",
            "15",
            "re-read below each high-water mark",
            NON_NEGATIVE,
        ),
        Setting("MEETERGO_SYNC_RESCAN_EVERY_HOURS", "6", "re-scan cadence", NON_NEGATIVE),
        Setting("MEETERGO_STEP_RETRIES", "2", "retries of a failed asset step (backoff)", COUNT),
        Setting(
            "MEETERGO_STEP_RETRY_DELAY_S",
            "15",
            "first wait before a step retry (doubles each time, with jitter)",
            NON_NEGATIVE,
        ),
        Setting("MEETERGO_SYNC_CRON", "0 * * * *", "incremental sync schedule"),
        Setting("MEETERGO_FULL_SWEEP_CRON", "30 3 * * *", "full sweep schedule"),
        Setting("MEETERGO_SCHEDULE_TIMEZONE", "UTC", "time zone of both crons"),
        Setting(
            "MEETERGO_WEBHOOK_TOKEN",
            None,
            "secret path token of the webhook receiver URL",
            secret=True,
        ),
        Setting("MEETERGO_WEBHOOK_LOG_DIR", "data/webhooks", "webhook receiver's log folder"),
        Setting(
            "MEETERGO_WEBHOOK_SILENCE_WARN_MINUTES",
            "180",
            "warn when the webhook log is silent longer",
            POSITIVE,
        ),
        Setting(
            "MEETERGO_RECONCILIATION_WARN_THRESHOLD",
            "10",
            "warn above this many webhook/API mismatches",
            COUNT,
        ),
        Setting("MEETERGO_REPORTING_TIMEZONE", "UTC", "time zone of analytics days and months"),
        Setting(
            "MEETERGO_METERED_BOOKING_PREDICATE",
            TransformSettings.metered_booking_predicate,
            "SQL over core.appointments a / core.users u: which bookings are metered",
        ),
        Setting("MEETERGO_PLAN_INCLUDED_BOOKINGS", "1000", "bookings included per month", COUNT),
        Setting(
            "MEETERGO_PLAN_PRICE_PER_BOOKING", "0.50", "price per booking above that", NON_NEGATIVE
        ),
        Setting("MEETERGO_PLAN_CURRENCY", "EUR", "currency of the plan"),
    ]
}


def setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The parsed value of a non-secret setting, or its default."""
    spec = SETTINGS[name]
    raw = (environ if environ is not None else os.environ).get(name) or spec.default or ""
    try:
        return spec.parse(raw)
    except ValueError:
        parse = spec.parse
        expected = parse.expected if isinstance(parse, Number) else parse.__name__
        raise ValueError(f"{name} must be {expected} ({spec.meaning}), got {raw!r}") from None


def _text(name: str, environ: Mapping[str, str]) -> Any:
    """An EnvVar when the variable is set (value hidden in the UI), else the default."""
    return EnvVar(name) if environ.get(name) else SETTINGS[name].default


def resources_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = environ if environ is not None else os.environ
    return {
        "meetergo_api": MeetergoAPIResource(
            api_key=EnvVar("MEETERGO_API_KEY"),
            base_url=_text("MEETERGO_API_BASE_URL", env),
            acting_user_id=_text("MEETERGO_API_USER_ID", env),
            budget_share=setting("MEETERGO_API_BUDGET_SHARE", env),
            rate_limit_per_minute=setting("MEETERGO_API_RATE_LIMIT_PER_MINUTE", env),
            rate_limit_burst=setting("MEETERGO_API_RATE_LIMIT_BURST", env),
            budget_state_dir=_text("MEETERGO_API_BUDGET_DIR", env),
        ),
        "warehouse": MeetergoWarehouse(
            database=_text("MEETERGO_DUCKDB_PATH", env),
            snapshot_path=_text("MEETERGO_SNAPSHOT_PATH", env),
            memory_limit=_text("MEETERGO_DUCKDB_MEMORY_LIMIT", env),
        ),
        "sync_settings": SyncSettings(
            lookback_days=setting("MEETERGO_SYNC_LOOKBACK_DAYS", env),
            horizon_days=setting("MEETERGO_SYNC_HORIZON_DAYS", env),
            overlap_minutes=setting("MEETERGO_SYNC_OVERLAP_MINUTES", env),
            rescan_every_hours=setting("MEETERGO_SYNC_RESCAN_EVERY_HOURS", env),
            workers=setting("MEETERGO_SYNC_WORKERS", env),
            commit_every_rows=setting("MEETERGO_SYNC_COMMIT_EVERY_ROWS", env),
        ),
        "analytics_settings": AnalyticsSettings(
            reporting_timezone=_text("MEETERGO_REPORTING_TIMEZONE", env),
            metered_booking_predicate=_text("MEETERGO_METERED_BOOKING_PREDICATE", env),
            plan_included_bookings=setting("MEETERGO_PLAN_INCLUDED_BOOKINGS", env),
            plan_price_per_booking=setting("MEETERGO_PLAN_PRICE_PER_BOOKING", env),
            plan_currency=_text("MEETERGO_PLAN_CURRENCY", env),
            reconciliation_warn_threshold=setting("MEETERGO_RECONCILIATION_WARN_THRESHOLD", env),
        ),
        "webhook_log": WebhookLogResource(
            log_dir=_text("MEETERGO_WEBHOOK_LOG_DIR", env),
            silence_warn_minutes=setting("MEETERGO_WEBHOOK_SILENCE_WARN_MINUTES", env),
        ),
    }
