"""Dagster resources: the meetergo API, the DuckDB warehouse and the pipeline's settings."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from dagster_duckdb import DuckDBResource

from meetergo_pipeline.client import (
    DEFAULT_BASE_URL,
    DEFAULT_BUDGET_SHARE,
    Credential,
    MeetergoClient,
    connect,
)
from meetergo_pipeline.transform import TransformSettings
from meetergo_pipeline.warehouse.connection import DEFAULT_MEMORY_LIMIT, connect_writer
from meetergo_pipeline.warehouse.publish import DEFAULT_SNAPSHOT_PATH
from meetergo_pipeline.warehouse.sync import SyncPolicy


class MeetergoAPIResource(ConfigurableResource):
    """The meetergo Platform API, or the simulator behind the same base URL."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL
    acting_user_id: str | None = None
    budget_share: float = DEFAULT_BUDGET_SHARE
    rate_limit_per_minute: float | None = None
    rate_limit_burst: float | None = None
    budget_state_dir: str | None = None

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Reject a malformed key before the run sends anything (the error names the variable)."""
        Credential.parse(self.api_key)

    def open_client(self) -> MeetergoClient:
        return connect(
            self.base_url,
            self.api_key,
            acting_user_id=self.acting_user_id or None,
            budget_share=self.budget_share,
            rate_limit_per_minute=self.rate_limit_per_minute,
            rate_limit_burst=self.rate_limit_burst,
            budget_state_dir=Path(self.budget_state_dir) if self.budget_state_dir else None,
        )


class MeetergoWarehouse(DuckDBResource):
    """The working DuckDB file (single writer) and where its read-only snapshot is published."""

    snapshot_path: str = DEFAULT_SNAPSHOT_PATH
    memory_limit: str = DEFAULT_MEMORY_LIMIT

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection with the raw schema ensured, closed (rolled back) even on error.

        A held lock is retried with bounded backoff, then reported with the holder's PID.
        """
        con = connect_writer(self.database, memory_limit=self.memory_limit)
        try:
            yield con
        finally:
            con.close()


class SyncSettings(ConfigurableResource):
    """Windows and cadence of the incremental API sync."""

    lookback_days: float = SyncPolicy.lookback_days
    horizon_days: float = SyncPolicy.horizon_days
    overlap_minutes: float = SyncPolicy.overlap_minutes
    rescan_every_hours: float = SyncPolicy.rescan_every_hours
    workers: int = SyncPolicy.workers
    commit_every_rows: int = SyncPolicy.commit_every_rows

    def policy(self) -> SyncPolicy:
        return SyncPolicy(
            lookback_days=self.lookback_days,
            horizon_days=self.horizon_days,
            overlap_minutes=self.overlap_minutes,
            rescan_every_hours=self.rescan_every_hours,
            workers=self.workers,
            commit_every_rows=self.commit_every_rows,
        )


class AnalyticsSettings(ConfigurableResource):
    """Reporting time zone, metering rule, plan and check thresholds."""

    reporting_timezone: str = "UTC"
    metered_booking_predicate: str = TransformSettings.metered_booking_predicate
    plan_included_bookings: int = TransformSettings.plan_included_bookings
    plan_price_per_booking: float = float(TransformSettings.plan_price_per_booking)
    plan_currency: str = TransformSettings.plan_currency
    reconciliation_warn_threshold: int = 10

    def transform_settings(self) -> TransformSettings:
        return TransformSettings(
            reporting_timezone=self.reporting_timezone,
            metered_booking_predicate=self.metered_booking_predicate,
            plan_included_bookings=self.plan_included_bookings,
            plan_price_per_booking=self.plan_price_per_booking,
            plan_currency=self.plan_currency,
        )


class WebhookLogResource(ConfigurableResource):
    """Where the receiver appends deliveries, and how long silence is tolerated."""

    log_dir: str = "data/webhooks"
    silence_warn_minutes: float = 180

    @property
    def path(self) -> Path:
        return Path(self.log_dir)
