"""Dagster resources: the meetergo API, the DuckDB warehouse and the pipeline's settings.

`build_resources` makes them from read settings (`meetergo_pipeline.settings`); their
defaults are the settings table's.
"""

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import ConfigurableResource, EnvVar, Failure, InitResourceContext

from meetergo_pipeline import stop
from meetergo_pipeline.client import Credential, MeetergoClient, build_client
from meetergo_pipeline.defs.stopping import stop_ends_run
from meetergo_pipeline.problems import file_problem, is_access_error
from meetergo_pipeline.settings import DEFAULTS, ClientSettings, Settings, variable
from meetergo_pipeline.tenants import (
    DEFAULT_TENANT,
    Tenant,
    TenantsError,
    missing_keys,
    parse_tenants_file,
    tenant_by_id,
)
from meetergo_pipeline.transform import TransformSettings
from meetergo_pipeline.transform.settings import tenant_plans
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.warehouse.lake import LakeSettings, attach_published_lake
from meetergo_pipeline.warehouse.lake_lock import lake_writer_lock
from meetergo_pipeline.warehouse.pseudonym import pseudonym_key
from meetergo_pipeline.warehouse.publish import publish_snapshot, publish_to_catalog
from meetergo_pipeline.warehouse.sync import SyncPolicy
from meetergo_pipeline.warehouse.writer_lock import writer_lock

# How DuckDB's IOException says that a file cannot be created or written.
DUCKDB_ACCESS_REASONS = ("Permission denied", "Read-only file system", "Not a directory")


class MeetergoAPIResource(ConfigurableResource):
    """The meetergo Platform API, or the simulator behind the same base URL.

    Without `tenants_file` it serves the one default tenant of `api_key`; with it, every
    tenant of the file, each through its own key (read from the variable the file names,
    when its client is opened) and so its own rate budget.
    """

    api_key: str
    tenants_file: str | None = None
    base_url: str = DEFAULTS.api_base_url
    acting_user_id: str | None = DEFAULTS.api_user_id
    budget_share: float = DEFAULTS.api_budget_share
    rate_limit_per_minute: float = DEFAULTS.api_rate_limit_per_minute
    rate_limit_burst: float = DEFAULTS.api_rate_limit_burst
    budget_state_dir: str = str(DEFAULTS.api_budget_dir)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Reject a malformed key before the run sends anything (the error names the variable)."""
        if self.tenants_file is None:
            Credential.parse(self.api_key)

    def tenant_ids(self) -> tuple[str, ...]:
        """The ids of the tenants this resource serves (`default` without a tenants file)."""
        if self.tenants_file is None:
            return (DEFAULT_TENANT,)
        return tuple(t.id for t in parse_tenants_file(Path(self.tenants_file), self.base_url))

    def key_variables(self) -> dict[str, str]:
        """Each tenant's key variable, by tenant id."""
        if self.tenants_file is None:
            return {DEFAULT_TENANT: variable("api_key")}
        tenants = parse_tenants_file(Path(self.tenants_file), self.base_url)
        return {tenant.id: tenant.api_key_env for tenant in tenants}

    def open_client(self, tenant_id: str = DEFAULT_TENANT) -> MeetergoClient:
        """A client of one tenant: its key, base URL and acting user, the budget settings
        shared. A tenant whose key variable is unset raises `TenantsError` naming it."""
        api_key, base_url, acting_user_id = self.api_key, self.base_url, self.acting_user_id
        if self.tenants_file is not None:
            tenants = _parsed_tenants_file(Path(self.tenants_file), self.base_url)
            tenant = tenant_by_id(tenants, tenant_id)
            api_key = os.environ.get(tenant.api_key_env, "").strip()
            if not api_key:
                raise TenantsError(missing_keys((tenant,)))
            base_url, acting_user_id = tenant.base_url, tenant.api_user_id
        return build_client(
            ClientSettings(
                api_key=api_key,
                base_url=base_url,
                acting_user_id=acting_user_id or None,
                budget_share=self.budget_share,
                rate_limit_per_minute=self.rate_limit_per_minute,
                rate_limit_burst=self.rate_limit_burst,
                budget_dir=Path(self.budget_state_dir),
            )
        )


def _parsed_tenants_file(path: Path, default_base_url: str) -> tuple[Tenant, ...]:
    """`parse_tenants_file`, read again only when the file changed: a run opens a client per
    tenant, and parsing the whole file for each made many tenants quadratic."""
    try:
        modified_ns = path.stat().st_mtime_ns
    except OSError:
        return parse_tenants_file(path, default_base_url)  # its error names the file
    return _parse_tenants_file_once(path, modified_ns, default_base_url)


@functools.lru_cache(maxsize=8)
def _parse_tenants_file_once(
    path: Path, modified_ns: int, default_base_url: str
) -> tuple[Tenant, ...]:
    del modified_ns  # part of the cache key only
    return parse_tenants_file(path, default_base_url)


class MeetergoWarehouse(ConfigurableResource):
    """The working DuckDB file or the DuckLake (single writer) and where the read-only
    snapshot is published.

    A run holds the warehouse's writer lock from its start to its end (the file's flock,
    `warehouse/writer_lock.py`; the lake's advisory lock in its catalog,
    `warehouse/lake_lock.py`), waiting up to `writer_lock_wait_s` for a run already writing;
    every step's connection ends the run at once on a stop request (`defs/stopping.py`).
    With a lake, `database` only places the local spill folder and the pseudonym key file.
    """

    database: str = str(DEFAULTS.duckdb_path)
    memory_limit: str = DEFAULTS.duckdb_memory_limit
    writer_lock_wait_s: float = DEFAULTS.writer_lock_wait_s
    snapshot_path: str = str(DEFAULTS.snapshot_path)
    snapshot_mode: int = DEFAULTS.snapshot_mode
    pseudonym_key: str | None = None
    warehouse: str = DEFAULTS.warehouse
    ducklake_catalog: str | None = None
    ducklake_data_path: str | None = None
    ducklake_published_path: str | None = None
    ducklake_s3_endpoint: str | None = None
    ducklake_s3_key_id: str | None = None
    ducklake_s3_secret: str | None = None
    ducklake_s3_region: str = DEFAULTS.ducklake_s3_region

    @property
    def lake(self) -> LakeSettings | None:
        """The lake's settings, or None for the DuckDB file (LakeSetupError if incomplete)."""
        return LakeSettings.from_settings(self)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["MeetergoWarehouse"]:
        """The resource for one run, holding the writer lock until the run ends."""
        announce = context.log.info if context.log else print
        lake = self.lake
        lock = (
            writer_lock(
                self.database,
                wait_s=self.writer_lock_wait_s,
                run_id=context.run_id,
                announce=announce,
            )
            if lake is None
            else lake_writer_lock(
                lake, wait_s=self.writer_lock_wait_s, run_id=context.run_id, announce=announce
            )
        )
        with stop_ends_run(), _unwritable_fails_at_once(variable("duckdb_path")), lock:
            yield self

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection with the raw schema ensured, closed (rolled back) even on error.

        A held DuckDB lock is retried with bounded backoff, then reported with the holder's
        PID. A file or folder that cannot be written fails the step at once, without step
        retries (`dagster.Failure`), naming `MEETERGO_DUCKDB_PATH`. A stop request interrupts
        the statement running and ends the run (`RunStopped`).
        """
        with stop_ends_run():
            with _unwritable_fails_at_once(variable("duckdb_path")):
                con = connect_writer(self.database, memory_limit=self.memory_limit, lake=self.lake)
            try:
                with stop.interrupt_on_stop(con.interrupt):
                    yield con
            finally:
                con.close()

    def publish(self, con: duckdb.DuckDBPyConnection) -> Path:
        """Publish the snapshot from the writer's connection `con` (see `publish_snapshot`), and
        with a published lake configured the same tables into it (`publish_to_catalog`).

        A snapshot folder that cannot be written fails the step at once, naming
        `MEETERGO_SNAPSHOT_PATH`.
        """
        key = pseudonym_key(Path(self.database).parent, self.pseudonym_key)
        with _unwritable_fails_at_once(variable("snapshot_path")):
            published = publish_snapshot(con, self.snapshot_path, key=key, mode=self.snapshot_mode)
        lake = self.lake
        if lake is not None and lake.published_path is not None:
            publish_to_catalog(
                con, lambda target, alias: attach_published_lake(target, lake, alias), key
            )
        return published


@contextmanager
def _unwritable_fails_at_once(setting: str) -> Iterator[None]:
    """Turn a permission or not-a-folder error into a `Failure` that skips the step retries.

    DuckDB reports a file it cannot open as an `IOException` with the OS's reason in the text.
    """
    try:
        yield
    except OSError as error:
        if not is_access_error(error):
            raise
        raise Failure(description=file_problem(error, setting), allow_retries=False) from None
    except duckdb.IOException as error:
        if not any(reason in str(error) for reason in DUCKDB_ACCESS_REASONS):
            raise
        message = (
            f"{str(error).splitlines()[0]} ({setting}): make it writable by this user or "
            f"point {setting} elsewhere"
        )
        raise Failure(description=message, allow_retries=False) from None


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
    """Reporting time zone, metering rule (predicate or appointment ids file), plan and check
    thresholds."""

    reporting_timezone: str = TransformSettings.reporting_timezone
    metered_booking_predicate: str = TransformSettings.metered_booking_predicate
    api_bookings_file: str | None = None
    plan_included_bookings: int = TransformSettings.plan_included_bookings
    plan_price_per_booking: float = float(TransformSettings.plan_price_per_booking)
    plan_currency: str = TransformSettings.plan_currency
    reconciliation_warn_threshold: int = DEFAULTS.reconciliation_warn_threshold
    tenants_file: str | None = None

    def transform_settings(self) -> TransformSettings:
        return TransformSettings(
            reporting_timezone=self.reporting_timezone,
            metered_booking_predicate=self.metered_booking_predicate,
            plan_included_bookings=self.plan_included_bookings,
            plan_price_per_booking=self.plan_price_per_booking,
            plan_currency=self.plan_currency,
            api_bookings_file=Path(self.api_bookings_file) if self.api_bookings_file else None,
            tenant_plans=tenant_plans(
                Path(self.tenants_file) if self.tenants_file else None,
                self.plan_included_bookings,
                self.plan_price_per_booking,
                self.plan_currency,
            ),
        )


class WebhookLogResource(ConfigurableResource):
    """Where the receivers store deliveries (the log dir, and the PostgreSQL inbox when one
    is set), and how long silence is tolerated."""

    log_dir: str = str(DEFAULTS.webhook_log_dir)
    inbox_url: str | None = None
    silence_warn_minutes: float = DEFAULTS.webhook_silence_warn_minutes

    @property
    def path(self) -> Path:
        return Path(self.log_dir)


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource of the code location, from settings read by `Settings.from_env`.

    The API key, the pseudonym key, the inbox URL, the lake's catalog URL and its S3 secret are
    passed as Dagster `EnvVar`s, so their values never show in the UI; every other value is
    passed as read and checked.
    """
    tenants_file = None if settings.tenants_file is None else str(settings.tenants_file)
    return {
        "meetergo_api": MeetergoAPIResource(
            # with a tenants file every key comes from the variable the file names
            api_key="" if tenants_file else EnvVar(variable("api_key")),
            tenants_file=tenants_file,
            base_url=settings.api_base_url,
            acting_user_id=settings.api_user_id,
            budget_share=settings.api_budget_share,
            rate_limit_per_minute=settings.api_rate_limit_per_minute,
            rate_limit_burst=settings.api_rate_limit_burst,
            budget_state_dir=str(settings.api_budget_dir),
        ),
        "warehouse": MeetergoWarehouse(
            database=str(settings.duckdb_path),
            memory_limit=settings.duckdb_memory_limit,
            writer_lock_wait_s=settings.writer_lock_wait_s,
            snapshot_path=str(settings.snapshot_path),
            snapshot_mode=settings.snapshot_mode,
            pseudonym_key=EnvVar(variable("pseudonym_key")) if settings.pseudonym_key else None,
            warehouse=settings.warehouse,
            ducklake_catalog=(
                EnvVar(variable("ducklake_catalog")) if settings.ducklake_catalog else None
            ),
            ducklake_data_path=settings.ducklake_data_path,
            ducklake_published_path=settings.ducklake_published_path,
            ducklake_s3_endpoint=settings.ducklake_s3_endpoint,
            ducklake_s3_key_id=settings.ducklake_s3_key_id,
            ducklake_s3_secret=(
                EnvVar(variable("ducklake_s3_secret")) if settings.ducklake_s3_secret else None
            ),
            ducklake_s3_region=settings.ducklake_s3_region,
        ),
        "sync_settings": SyncSettings(
            lookback_days=settings.sync_lookback_days,
            horizon_days=settings.sync_horizon_days,
            overlap_minutes=settings.sync_overlap_minutes,
            rescan_every_hours=settings.sync_rescan_every_hours,
            workers=settings.sync_workers,
            commit_every_rows=settings.sync_commit_every_rows,
        ),
        "analytics_settings": AnalyticsSettings(
            reporting_timezone=settings.reporting_timezone,
            metered_booking_predicate=settings.metered_booking_predicate,
            api_bookings_file=(
                None if settings.api_bookings_file is None else str(settings.api_bookings_file)
            ),
            plan_included_bookings=settings.plan_included_bookings,
            plan_price_per_booking=float(settings.plan_price_per_booking),
            plan_currency=settings.plan_currency,
            reconciliation_warn_threshold=settings.reconciliation_warn_threshold,
            tenants_file=tenants_file,
        ),
        "webhook_log": WebhookLogResource(
            log_dir=str(settings.webhook_log_dir),
            inbox_url=(
                EnvVar(variable("webhook_inbox_url")) if settings.webhook_inbox_url else None
            ),
            silence_warn_minutes=settings.webhook_silence_warn_minutes,
        ),
    }
