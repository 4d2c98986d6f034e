"""Settings of the core and analytics SQL layers.

Environment variables (read by the Dagster resources or :meth:`TransformSettings.from_env`):

============================================  ==========================  =====================
variable                                      meaning                     default
============================================  ==========================  =====================
``MEETERGO_REPORTING_TIMEZONE``               IANA zone analytics days    ``UTC``
                                              and months are cut in
``MEETERGO_METERED_BOOKING_PREDICATE``        SQL boolean over            ``u.user_type =
                                              ``core.appointments a``     'api-platform'``
                                              LEFT JOIN ``core.users u``
                                              (u = main host) marking
                                              metered bookings
``MEETERGO_PLAN_INCLUDED_BOOKINGS``           bookings included / month   ``1000``
``MEETERGO_PLAN_PRICE_PER_BOOKING``           price per booking above it  ``0.50``
``MEETERGO_PLAN_CURRENCY``                    ISO 4217 currency code      ``EUR``
============================================  ==========================  =====================

meetergo marks no booking as "created via the API", so which bookings are metered is a rule
the operator configures. The predicate is trusted configuration (it is pasted into SQL), but
it is still checked before use: one expression, it binds against the two aliases, it is
BOOLEAN. See :func:`validate_against_database`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import duckdb

ENV_REPORTING_TIMEZONE = "MEETERGO_REPORTING_TIMEZONE"
ENV_METERED_BOOKING_PREDICATE = "MEETERGO_METERED_BOOKING_PREDICATE"
ENV_PLAN_INCLUDED_BOOKINGS = "MEETERGO_PLAN_INCLUDED_BOOKINGS"
ENV_PLAN_PRICE_PER_BOOKING = "MEETERGO_PLAN_PRICE_PER_BOOKING"
ENV_PLAN_CURRENCY = "MEETERGO_PLAN_CURRENCY"

DEFAULT_METERED_BOOKING_PREDICATE = "u.user_type = 'api-platform'"

_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")

# The predicate is checked inside exactly this query; the aliases are the documented contract.
PREDICATE_PROBE_SQL = (
    "SELECT ({predicate}) AS is_metered "
    "FROM core.appointments AS a LEFT JOIN core.users AS u ON u.user_id = a.host_user_id"
)


@dataclass(frozen=True)
class TransformSettings:
    """Configuration of the analytics layer; see the module docstring for the env vars."""

    reporting_timezone: str = "UTC"
    metered_booking_predicate: str = DEFAULT_METERED_BOOKING_PREDICATE
    plan_included_bookings: int = 1000
    plan_price_per_booking: float | Decimal = Decimal("0.50")
    plan_currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.reporting_timezone, str) or not self.reporting_timezone.strip():
            raise ValueError(f"{ENV_REPORTING_TIMEZONE} must name a time zone, e.g. UTC")
        if (
            not isinstance(self.metered_booking_predicate, str)
            or not self.metered_booking_predicate.strip()
        ):
            raise ValueError(
                f"{ENV_METERED_BOOKING_PREDICATE} must be a SQL boolean expression over "
                f"core.appointments a and core.users u, e.g. {DEFAULT_METERED_BOOKING_PREDICATE}"
            )
        if (
            isinstance(self.plan_included_bookings, bool)
            or not isinstance(self.plan_included_bookings, int)
            or self.plan_included_bookings < 0
        ):
            raise ValueError(
                f"{ENV_PLAN_INCLUDED_BOOKINGS} must be a whole number >= 0, "
                f"got {self.plan_included_bookings!r}"
            )
        price = self.plan_price_per_booking
        if (
            isinstance(price, bool)
            or not isinstance(price, int | float | Decimal)
            or not math.isfinite(float(price))
            or price < 0
        ):
            raise ValueError(f"{ENV_PLAN_PRICE_PER_BOOKING} must be a number >= 0, got {price!r}")
        if not isinstance(self.plan_currency, str) or not _CURRENCY_PATTERN.match(
            self.plan_currency
        ):
            raise ValueError(
                f"{ENV_PLAN_CURRENCY} must be a three-letter ISO 4217 code like EUR, "
                f"got {self.plan_currency!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TransformSettings:
        """Settings from environment variables; unset or empty ones take the defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def text(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        included_text = text(ENV_PLAN_INCLUDED_BOOKINGS, str(defaults.plan_included_bookings))
        try:
            included = int(included_text)
        except ValueError:
            raise ValueError(
                f"{ENV_PLAN_INCLUDED_BOOKINGS} must be a whole number >= 0, got {included_text!r}"
            ) from None
        price_text = text(ENV_PLAN_PRICE_PER_BOOKING, str(defaults.plan_price_per_booking))
        try:
            price = Decimal(price_text)
        except InvalidOperation:
            raise ValueError(
                f"{ENV_PLAN_PRICE_PER_BOOKING} must be a number >= 0, got {price_text!r}"
            ) from None
        return cls(
            reporting_timezone=text(ENV_REPORTING_TIMEZONE, defaults.reporting_timezone),
            metered_booking_predicate=text(
                ENV_METERED_BOOKING_PREDICATE, defaults.metered_booking_predicate
            ),
            plan_included_bookings=included,
            plan_price_per_booking=price,
            plan_currency=text(ENV_PLAN_CURRENCY, defaults.plan_currency).upper(),
        )


def validate_against_database(con: duckdb.DuckDBPyConnection, settings: TransformSettings) -> None:
    """Check the time zone and the metered-booking predicate against the live database.

    Needs the core tables (run ``build_core`` first). Raises ``ValueError`` naming the env var.
    """
    (zone_known,) = con.execute(
        "SELECT count(*) > 0 FROM pg_timezone_names() WHERE name = $zone",
        {"zone": settings.reporting_timezone},
    ).fetchone()
    if not zone_known:
        raise ValueError(
            f"{ENV_REPORTING_TIMEZONE}={settings.reporting_timezone!r} is not a time zone DuckDB "
            "knows (use an IANA name such as UTC or Europe/Berlin)"
        )

    predicate = settings.metered_booking_predicate
    probe = PREDICATE_PROBE_SQL.format(predicate=predicate)
    hint = (
        f"{ENV_METERED_BOOKING_PREDICATE}={predicate!r} is not a valid SQL boolean over "
        "core.appointments a LEFT JOIN core.users u (e.g. "
        f"{DEFAULT_METERED_BOOKING_PREDICATE})"
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
