"""The tenants one deployment syncs: the meetergo accounts, each with its own key and plan.

Without `MEETERGO_TENANTS_FILE` there is one tenant, `default`, from `MEETERGO_API_KEY`,
`MEETERGO_API_BASE_URL` and `MEETERGO_API_USER_ID`. With it, the TOML file lists them:

    [[tenants]]
    id = "acme"                           # [a-z0-9_]+: the tenant's key in every table
    api_key_env = "ACME_MEETERGO_API_KEY" # the variable holding its key, never the key
    base_url = "https://api.meetergo.com" # optional: MEETERGO_API_BASE_URL
    api_user_id = "..."                   # optional acting user: the key's owner
    plan_included_bookings = 2000         # optional plan overrides (MEETERGO_PLAN_*)
    plan_price_per_booking = "0.40"
    plan_currency = "EUR"

A file that cannot be used raises `TenantsError` with one line per problem, each naming the
file, the tenant and the key or variable to fix; the keys themselves are never shown.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from meetergo_pipeline.settings import Settings, SettingsError, variable
from meetergo_pipeline.settings.table import BY_FIELD
from meetergo_pipeline.webhooks.log import TENANT_ID

DEFAULT_TENANT = "default"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FILE_VARIABLE = variable("tenants_file")
PLAN_FIELDS = ("plan_included_bookings", "plan_price_per_booking", "plan_currency")
OPTIONAL_FIELDS = ("base_url", "api_user_id", *PLAN_FIELDS)
ALLOWED_KEYS = ("id", "api_key_env", *OPTIONAL_FIELDS)


class TenantsError(SettingsError):
    """The tenants file cannot be used; `problems` has one line per problem."""


@dataclass(frozen=True)
class Tenant:
    """One meetergo account: its id, the variable holding its key, and its overrides.

    A plan field left None takes the deployment's `MEETERGO_PLAN_*` setting. `api_key` is
    the key read from `api_key_env` by `load_tenants` (None when unset); it is never shown.
    """

    id: str
    api_key_env: str
    base_url: str
    api_user_id: str | None = None
    plan_included_bookings: int | None = None
    plan_price_per_booking: Decimal | None = None
    plan_currency: str | None = None
    api_key: str | None = field(default=None, repr=False, compare=False)

    def plan(
        self, included_bookings: int, price_per_booking: Decimal | float, currency: str
    ) -> tuple[int, Decimal | float, str]:
        """(included bookings, price per booking, currency) for this tenant: its overrides,
        else the deployment's plan given (the `MEETERGO_PLAN_*` settings)."""
        return (
            included_bookings
            if self.plan_included_bookings is None
            else self.plan_included_bookings,
            price_per_booking
            if self.plan_price_per_booking is None
            else self.plan_price_per_booking,
            currency if self.plan_currency is None else self.plan_currency,
        )


def load_tenants(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[Tenant, ...]:
    """The deployment's tenants, each with its key read from its variable (None when unset).

    Raises `TenantsError` for a file that cannot be read or holds a bad entry.
    """
    env = os.environ if environ is None else environ
    if settings.tenants_file is None:
        tenant = Tenant(
            DEFAULT_TENANT,
            variable("api_key"),
            settings.api_base_url,
            api_user_id=settings.api_user_id,
            api_key=settings.api_key,
        )
        return (tenant,)
    tenants = parse_tenants_file(settings.tenants_file, settings.api_base_url)
    return tuple(replace(t, api_key=env.get(t.api_key_env, "").strip() or None) for t in tenants)


def missing_keys(tenants: tuple[Tenant, ...]) -> list[str]:
    """One line per tenant whose key variable is unset."""
    return [
        f"tenant {tenant.id}: {tenant.api_key_env} is not set: set it to the tenant's "
        "meetergo API key"
        for tenant in tenants
        if tenant.api_key is None
    ]


def tenant_by_id(tenants: tuple[Tenant, ...], tenant_id: str) -> Tenant:
    """The tenant with id `tenant_id`; ValueError listing the known ids if there is none."""
    for tenant in tenants:
        if tenant.id == tenant_id:
            return tenant
    known = ", ".join(tenant.id for tenant in tenants)
    raise ValueError(f"unknown tenant {tenant_id!r}: the tenants are {known}")


def parse_tenants_file(path: Path, default_base_url: str) -> tuple[Tenant, ...]:
    """The file's tenants (keys not read; `base_url` defaults to `default_base_url`), or
    `TenantsError` naming each problem."""
    where = f"{FILE_VARIABLE}={path}"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TenantsError([f"{where}: cannot read it ({error.strerror or error})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise TenantsError([f"{where} is not valid TOML ({error}): fix the file"]) from None
    entries = document.get("tenants")
    extra = sorted(set(document) - {"tenants"})
    if extra or not isinstance(entries, list) or not entries:
        raise TenantsError([f"{where} must hold one or more [[tenants]] tables and nothing else"])
    problems: list[str] = []
    tenants: list[Tenant] = []
    for number, entry in enumerate(entries, start=1):
        try:
            tenants.append(_tenant(entry, number, where, default_base_url))
        except ValueError as error:
            problems.append(str(error))
    seen: set[str] = set()
    for tenant in tenants:
        if tenant.id in seen:
            problems.append(
                f"{where}: tenant {tenant.id}: the id is used twice; ids must be unique"
            )
        seen.add(tenant.id)
    if problems:
        raise TenantsError(problems)
    return tuple(tenants)


def _tenant(entry: Any, number: int, where: str, default_base_url: str) -> Tenant:
    """One `[[tenants]]` table as a Tenant; ValueError with one line naming what to fix."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: tenant #{number} must be a table ([[tenants]])")
    tenant_id = entry.get("id")
    name = f"tenant {tenant_id}" if isinstance(tenant_id, str) else f"tenant #{number}"
    unknown = sorted(set(entry) - set(ALLOWED_KEYS))
    if unknown:
        raise ValueError(
            f"{where}: {name}: unknown key {unknown[0]!r} (allowed: {', '.join(ALLOWED_KEYS)})"
        )
    if not isinstance(tenant_id, str) or not TENANT_ID.fullmatch(tenant_id):
        raise ValueError(
            f"{where}: {name}: id must be lower-case letters, digits and _ ([a-z0-9_]+), "
            f"got {tenant_id!r}"
        )
    key_env = entry.get("api_key_env")
    if not isinstance(key_env, str) or not ENV_NAME.fullmatch(key_env):
        raise ValueError(
            f"{where}: {name}: api_key_env must name the environment variable holding the "
            f"tenant's API key (e.g. {tenant_id.upper()}_MEETERGO_API_KEY), got {key_env!r}"
        )
    values: dict[str, Any] = {}
    for key in OPTIONAL_FIELDS:
        if key not in entry:
            continue
        kind = BY_FIELD["api_base_url" if key == "base_url" else key].kind
        try:
            values[key] = kind.parse(str(entry[key]))
        except ValueError as error:
            raise ValueError(
                f"{where}: {name}: {key} must be {error}, got {entry[key]!r}"
            ) from None
    base_url = values.pop("base_url", None) or default_base_url
    return Tenant(tenant_id, key_env, base_url, **values)
