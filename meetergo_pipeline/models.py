"""The catalogue of warehouse tables: one entry per table, listed in build order.

Every table list in the pipeline is read from here: the Dagster asset specs and their
lineage, the unique-key checks, the transform runner's build order, the raw tables the API
sync writes, the jobs' asset selections and the run summary. A model's `upstream` names
exactly the tables its SQL reads (a test parses every file and compares), so the lineage
Dagster shows is the SQL's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Layer = Literal["raw", "core", "analytics"]
Source = Literal["api", "webhook_log", "sql"]


@dataclass(frozen=True)
class Model:
    """One warehouse table.

    `source` says what writes it: the API sync, the webhook-log ingest, or its own SQL file
    (`sql_file`, under `meetergo_pipeline/sql/`). `key` is the column, or the tuple of columns,
    unique per row (checked after every build); None where no key is checked. Ids are unique
    per tenant, so every key starts with `tenant_id`.
    """

    layer: Layer
    name: str
    source: Source
    description: str
    key: str | tuple[str, ...] | None = None
    upstream: tuple[str, ...] = ()

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The key as a tuple of column names; empty when the model has no key."""
        if self.key is None:
            return ()
        return (self.key,) if isinstance(self.key, str) else self.key

    @property
    def table(self) -> str:
        """The qualified table name, e.g. `core.appointments`."""
        return f"{self.layer}.{self.name}"

    @property
    def sql_file(self) -> str:
        """The model's SQL under `meetergo_pipeline/sql/`; only models with source `sql`."""
        if self.source != "sql":
            raise ValueError(f"{self.table} is written by the {self.source} code, not by SQL")
        return f"{self.layer}/{self.name}.sql"


MODELS: tuple[Model, ...] = (
    Model(
        "raw",
        "users",
        "api",
        "meetergo users: one row per id, JSON payload kept.",
        key=("tenant_id", "user_id"),
    ),
    Model(
        "raw",
        "meeting_types",
        "api",
        "meetergo meeting types: one row per id, JSON payload kept.",
        key=("tenant_id", "meeting_type_id"),
    ),
    Model(
        "raw",
        "appointments",
        "api",
        "meetergo appointments: one row per id, JSON payload kept.",
        key=("tenant_id", "appointment_id"),
    ),
    Model(
        "raw",
        "webhook_events",
        "webhook_log",
        "Deduplicated webhook events read incrementally from the receiver's JSONL log.",
        key=("tenant_id", "event_key"),
    ),
    Model(
        "core",
        "users",
        "sql",
        "Platform users from the API, plus users so far known only from a new_employee webhook.",
        key=("tenant_id", "user_id"),
        upstream=("raw.users", "raw.webhook_events"),
    ),
    Model(
        "core",
        "booking_events",
        "sql",
        "Distinct booking webhook events (created, rescheduled, cancelled).",
        key=("tenant_id", "event_key"),
        upstream=("raw.webhook_events",),
    ),
    Model(
        "core",
        "api_appointments",
        "sql",
        "Each appointment as the latest API read showed it, before webhook events.",
        key=("tenant_id", "appointment_id"),
        upstream=("raw.appointments",),
    ),
    Model(
        "core",
        "meeting_types",
        "sql",
        "Meeting types (booking pages) as the API last listed them, with their metadata.",
        key=("tenant_id", "meeting_type_id"),
        upstream=("raw.meeting_types", "core.api_appointments"),
    ),
    Model(
        "core",
        "rejected_booking_events",
        "sql",
        "Booking webhook events whose appointment, not listed by the API, cannot form a valid "
        "row (no parseable start, say), with the reason; left out of core.appointments.",
        key=("tenant_id", "event_key"),
        upstream=("core.api_appointments", "core.booking_events", "raw.webhook_events"),
    ),
    Model(
        "core",
        "appointments",
        "sql",
        "Each appointment's latest known state across API reads and webhook events.",
        key=("tenant_id", "appointment_id"),
        upstream=(
            "core.api_appointments",
            "core.booking_events",
            "core.rejected_booking_events",
            "raw.webhook_events",
        ),
    ),
    Model(
        "core",
        "appointment_hosts",
        "sql",
        "One row per appointment and host user (main host and co-hosts).",
        key=("tenant_id", "appointment_id", "user_id"),
        upstream=("core.api_appointments", "core.appointments"),
    ),
    Model(
        "analytics",
        "report_settings",
        "sql",
        "The settings the analytics layer was built with (time zone, metered rule, plan).",
    ),
    Model(
        "analytics",
        "tenant_plans",
        "sql",
        "The plan each tenant is billed by: the tenants file's plan overrides, else the "
        "deployment's MEETERGO_PLAN_* settings.",
        key="tenant_id",
    ),
    Model(
        "analytics",
        "metered_bookings",
        "sql",
        "Bookings metered for usage-based billing, one row per appointment: by the metered "
        "rule, or by the appointment ids file (MEETERGO_API_BOOKINGS_FILE) when one is set.",
        key=("tenant_id", "appointment_id"),
        upstream=(
            "analytics.report_settings",
            "core.appointments",
            "core.booking_events",
            "core.meeting_types",
            "core.users",
            "raw.appointments",
            "raw.webhook_events",
        ),
    ),
    Model(
        "analytics",
        "bookings",
        "sql",
        "One wide row per appointment: names, host-local start, lead time, cancellation, "
        "reschedules, metering.",
        key=("tenant_id", "appointment_id"),
        upstream=(
            "analytics.metered_bookings",
            "analytics.report_settings",
            "core.appointment_hosts",
            "core.appointments",
            "core.meeting_types",
            "core.users",
        ),
    ),
    Model(
        "analytics",
        "booking_volume_daily",
        "sql",
        "Bookings created, cancelled, rescheduled and scheduled per day, meeting type and host, "
        "zero-filled.",
        upstream=(
            "analytics.report_settings",
            "core.appointments",
            "core.meeting_types",
            "core.users",
        ),
    ),
    Model(
        "analytics",
        "booking_volume_weekly",
        "sql",
        "Booking activity per week and meeting type, zero-filled.",
        upstream=("analytics.booking_volume_daily",),
    ),
    Model(
        "analytics",
        "host_activity_monthly",
        "sql",
        "Per host and month booked: bookings (co-hosted included), cancellations, rates and "
        "median lead time.",
        upstream=(
            "analytics.bookings",
            "analytics.report_settings",
            "core.appointment_hosts",
            "core.users",
        ),
    ),
    Model(
        "analytics",
        "usage_billing_monthly",
        "sql",
        "Metered bookings per billing month against the plan, with the running month projected.",
        upstream=("analytics.metered_bookings", "analytics.report_settings"),
    ),
    Model(
        "analytics",
        "usage_by_tenant_monthly",
        "sql",
        "Metered bookings per tenant and billing month against the tenant's own plan.",
        key=("tenant_id", "billing_month"),
        upstream=(
            "analytics.metered_bookings",
            "analytics.report_settings",
            "analytics.tenant_plans",
        ),
    ),
    Model(
        "analytics",
        "usage_billing_by_user",
        "sql",
        "Metered bookings per billing month and platform user.",
        upstream=("analytics.metered_bookings",),
    ),
    Model(
        "analytics",
        "webhook_reconciliation",
        "sql",
        "Per day: where webhook events and API reads disagree.",
        upstream=(
            "analytics.report_settings",
            "core.api_appointments",
            "core.appointments",
            "core.booking_events",
            "raw.appointments",
            "raw.webhook_events",
        ),
    ),
)


def models_in(layer: Layer) -> tuple[Model, ...]:
    """The layer's models in build order (each after every model of the layer it reads)."""
    return tuple(model for model in MODELS if model.layer == layer)


def published_models() -> tuple[Model, ...]:
    """The tables analysts query in the published snapshot: the core and analytics layers."""
    return tuple(model for model in MODELS if model.layer in ("core", "analytics"))


def raw_api_models() -> tuple[Model, ...]:
    """The raw tables the API sync writes."""
    return tuple(model for model in MODELS if model.source == "api")


def model(table: str) -> Model:
    """The model of a qualified table name; KeyError naming the table if there is none."""
    for candidate in MODELS:
        if candidate.table == table:
            return candidate
    raise KeyError(f"{table} is not in the model catalogue (meetergo_pipeline/models.py)")
