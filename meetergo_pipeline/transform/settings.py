"""Settings of the core and analytics SQL layers, as one value object.

Its fields, defaults and checks are rows of the pipeline's settings table
(:mod:`meetergo_pipeline.settings`); build it from read settings with
:meth:`TransformSettings.from_settings`.

meetergo marks no booking as "created via the API", so which bookings are metered is a rule
the operator configures: a SQL boolean over ``core.appointments a`` LEFT JOIN
``core.users u`` (u = main host). The predicate is trusted configuration (it is pasted into
SQL), but it is still checked before use: one expression, it binds against the two aliases,
it is BOOLEAN. See :func:`validate_against_database`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb

from meetergo_pipeline.settings import DEFAULTS, Settings, check_values, variable

# The predicate is checked inside exactly this query; the aliases are the documented contract.
PREDICATE_PROBE_SQL = (
    "SELECT ({predicate}) AS is_metered "
    "FROM core.appointments AS a LEFT JOIN core.users AS u ON u.user_id = a.host_user_id"
)


@dataclass(frozen=True)
class TransformSettings:
    """Configuration of the analytics layer; a bad value raises a ValueError naming its
    environment variable."""

    reporting_timezone: str = DEFAULTS.reporting_timezone
    metered_booking_predicate: str = DEFAULTS.metered_booking_predicate
    plan_included_bookings: int = DEFAULTS.plan_included_bookings
    plan_price_per_booking: float | Decimal = DEFAULTS.plan_price_per_booking
    plan_currency: str = DEFAULTS.plan_currency

    def __post_init__(self) -> None:
        check_values(
            {
                "reporting_timezone": self.reporting_timezone,
                "metered_booking_predicate": self.metered_booking_predicate,
                "plan_included_bookings": self.plan_included_bookings,
                "plan_price_per_booking": self.plan_price_per_booking,
                "plan_currency": self.plan_currency,
            }
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TransformSettings:
        return cls(
            reporting_timezone=settings.reporting_timezone,
            metered_booking_predicate=settings.metered_booking_predicate,
            plan_included_bookings=settings.plan_included_bookings,
            plan_price_per_booking=settings.plan_price_per_booking,
            plan_currency=settings.plan_currency,
        )


def validate_against_database(con: duckdb.DuckDBPyConnection, settings: TransformSettings) -> None:
    """Check the time zone and the metered-booking predicate against the live database.

    Needs the core tables (run ``build_core`` first). Raises ``ValueError`` naming the env var.
    """
    zone_variable = variable("reporting_timezone")
    predicate_variable = variable("metered_booking_predicate")
    (zone_known,) = con.execute(
        "SELECT count(*) > 0 FROM pg_timezone_names() WHERE name = $zone",
        {"zone": settings.reporting_timezone},
    ).fetchone()
    if not zone_known:
        raise ValueError(
            f"{zone_variable}={settings.reporting_timezone!r} is not a time zone DuckDB "
            "knows (use an IANA name such as UTC or Europe/Berlin)"
        )

    predicate = settings.metered_booking_predicate
    probe = PREDICATE_PROBE_SQL.format(predicate=predicate)
    hint = (
        f"{predicate_variable}={predicate!r} is not a valid SQL boolean over "
        f"core.appointments a LEFT JOIN core.users u (e.g. {DEFAULTS.metered_booking_predicate})"
    )
    try:
        statements = con.extract_statements(probe)
    except duckdb.Error as error:
        raise ValueError(f"{hint}: {_first_line(error)}") from None
    if len(statements) != 1:
        raise ValueError(f"{hint}: it must be a single expression, not several statements")
    try:
        described = con.execute(f"DESCRIBE {probe}").fetchall()
    except duckdb.Error as error:
        raise ValueError(f"{hint}: {_first_line(error)}") from None
    column_types = [row[1] for row in described]
    if column_types != ["BOOLEAN"]:
        raise ValueError(f"{hint}: it yields {', '.join(column_types)}, not BOOLEAN")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
