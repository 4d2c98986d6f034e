"""Settings of the core and analytics SQL layers, as one value object.

Its fields, defaults and checks are rows of the pipeline's settings table
(:mod:`meetergo_pipeline.settings`); build it from read settings with
:meth:`TransformSettings.from_settings`.

meetergo marks no booking as "created via the API", so which bookings are metered is
configuration, in one of two forms:

* the predicate ``MEETERGO_METERED_BOOKING_PREDICATE``: a SQL boolean over the aliases
  ``a`` (``core.appointments``), ``u`` (its main host in ``core.users``), ``mt`` (its meeting
  type in ``core.meeting_types``, with ``metadata``) and ``n`` (``n.notes``, the booking's
  notes, readable by the predicate alone). It is trusted configuration (pasted into SQL) but
  checked before use: one expression, it binds against those aliases, it is BOOLEAN. See
  :func:`validate_against_database`.
* the file ``MEETERGO_API_BOOKINGS_FILE``: the appointment ids the customer's own application
  booked through the API. When it is set, a booking is metered exactly when its id is listed
  and the predicate is not applied (see :mod:`meetergo_pipeline.transform.metering`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import duckdb

from meetergo_pipeline.settings import DEFAULTS, Settings, check_values, variable
from meetergo_pipeline.sql import load_sql, one_row
from meetergo_pipeline.tenants import DEFAULT_TENANT, parse_tenants_file

# The aliases the predicate may use, as the probe (sql/metering/predicate_probe.sql) and the
# model (sql/analytics/metered_bookings.sql) both define them.
PREDICATE_ALIASES = {
    "a": "core.appointments",
    "u": "core.users (the main host)",
    "mt": "core.meeting_types (the meeting type, with metadata)",
    "n": "the booking's notes (n.notes)",
}


class TenantPlan(NamedTuple):
    """The plan one tenant is billed by (`Tenant.plan` resolved against the settings)."""

    tenant_id: str
    included_bookings: int
    price_per_booking: Decimal | float
    currency: str


@dataclass(frozen=True)
class TransformSettings:
    """Configuration of the analytics layer; a bad value raises a ValueError naming its
    environment variable."""

    reporting_timezone: str = DEFAULTS.reporting_timezone
    metered_booking_predicate: str = DEFAULTS.metered_booking_predicate
    plan_included_bookings: int = DEFAULTS.plan_included_bookings
    plan_price_per_booking: float | Decimal = DEFAULTS.plan_price_per_booking
    plan_currency: str = DEFAULTS.plan_currency
    api_bookings_file: Path | None = DEFAULTS.api_bookings_file
    tenant_plans: tuple[TenantPlan, ...] = ()

    def __post_init__(self) -> None:
        values: dict[str, object] = {
            "reporting_timezone": self.reporting_timezone,
            "metered_booking_predicate": self.metered_booking_predicate,
            "plan_included_bookings": self.plan_included_bookings,
            "plan_price_per_booking": self.plan_price_per_booking,
            "plan_currency": self.plan_currency,
        }
        if self.api_bookings_file is not None:
            values["api_bookings_file"] = self.api_bookings_file
        check_values(values)

    def plans(self) -> tuple[TenantPlan, ...]:
        """Every tenant's plan; without `tenant_plans`, the default tenant's is the plan above."""
        if self.tenant_plans:
            return self.tenant_plans
        default = TenantPlan(
            DEFAULT_TENANT,
            self.plan_included_bookings,
            self.plan_price_per_booking,
            self.plan_currency,
        )
        return (default,)

    @classmethod
    def from_settings(cls, settings: Settings) -> TransformSettings:
        """The settings' values, with each tenant's plan when a tenants file is set."""
        return cls(
            reporting_timezone=settings.reporting_timezone,
            metered_booking_predicate=settings.metered_booking_predicate,
            plan_included_bookings=settings.plan_included_bookings,
            plan_price_per_booking=settings.plan_price_per_booking,
            plan_currency=settings.plan_currency,
            api_bookings_file=settings.api_bookings_file,
            tenant_plans=tenant_plans(
                settings.tenants_file,
                settings.plan_included_bookings,
                settings.plan_price_per_booking,
                settings.plan_currency,
            ),
        )


def tenant_plans(
    tenants_file: Path | None,
    included_bookings: int,
    price_per_booking: Decimal | float,
    currency: str,
) -> tuple[TenantPlan, ...]:
    """Each tenant's plan from the tenants file over the deployment's plan given; () without
    a file (the default tenant then has the deployment's plan)."""
    if tenants_file is None:
        return ()
    return tuple(
        TenantPlan(tenant.id, *tenant.plan(included_bookings, price_per_booking, currency))
        for tenant in parse_tenants_file(tenants_file, "")
    )


def validate_against_database(con: duckdb.DuckDBPyConnection, settings: TransformSettings) -> None:
    """Check the time zone and the metered-booking predicate against the live database.

    Needs the core tables (run ``build_core`` first). Raises ``ValueError`` naming the env var.
    The predicate is checked even when ``api_bookings_file`` decides the metering, so a bad
    one is found before the file is removed.
    """
    zone_variable = variable("reporting_timezone")
    predicate_variable = variable("metered_booking_predicate")
    (zone_known,) = one_row(
        con,
        "SELECT count(*) > 0 FROM pg_timezone_names() WHERE name = $zone",
        {"zone": settings.reporting_timezone},
    )
    if not zone_known:
        raise ValueError(
            f"{zone_variable}={settings.reporting_timezone!r} is not a time zone DuckDB "
            "knows (use an IANA name such as UTC or Europe/Berlin)"
        )

    predicate = settings.metered_booking_predicate
    probe = load_sql("metering/predicate_probe.sql", predicate=predicate)
    aliases = "; ".join(f"{alias} = {meaning}" for alias, meaning in PREDICATE_ALIASES.items())
    hint = (
        f"{predicate_variable}={predicate!r} is not a valid SQL boolean over {aliases} "
        f"(e.g. {DEFAULTS.metered_booking_predicate})"
    )
    try:
        statements = con.extract_statements(probe)
    except duckdb.Error as error:
        raise ValueError(f"{hint}: {_first_line(error)}") from None
    if len(statements) != 1:
        raise ValueError(f"{hint}: it must be a single expression, not several statements")
    try:
        described = con.execute(f"DESCRIBE {statements[0].query}").fetchall()
    except duckdb.Error as error:
        raise ValueError(f"{hint}: {_first_line(error)}") from None
    column_types = [row[1] for row in described]
    if column_types != ["BOOLEAN"]:
        raise ValueError(f"{hint}: it yields {', '.join(column_types)}, not BOOLEAN")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
