"""The preflight's API probes: the tenants file, each key, the base URL and the acting user.

A probe sends at most two requests (`GET /v4/user/me` as the key's owner, then as the acting
user), none retried, each timing out after `PROBE_TIMEOUT_S`. A failure is one `Finding`
naming the variable (a tenant's own key variable for a tenant), never the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from meetergo_pipeline.client import (
    MeetergoAPIError,
    MeetergoAuthError,
    MeetergoClient,
    MeetergoConnectError,
    MeetergoError,
    MeetergoNotFoundError,
    RateBudget,
    build_client,
)
from meetergo_pipeline.preflight.finding import PROBE_TIMEOUT_S, Finding
from meetergo_pipeline.problems import KEY_VARIABLE, USER_VARIABLE, auth_problem
from meetergo_pipeline.settings import Settings, variable
from meetergo_pipeline.tenants import (
    FILE_VARIABLE,
    Tenant,
    TenantsError,
    load_tenants,
    missing_keys,
)

PROBE_WORKERS = 8  # tenants probed at once
BASE_URL_VARIABLE = variable("api_base_url")
ME = "GET /v4/user/me"


def tenant_api_findings(
    settings: Settings,
    environ: Mapping[str, str] | None,
    shared_budget: bool,
    *,
    probe_tenants: bool = True,
) -> list[Finding]:
    """The tenants file and its key variables, then, with `probe_tenants`, every tenant's key
    probed like `api_findings` (several at once).

    Without a tenants file this is `api_findings` of the one default tenant, unchanged. A
    tenant's lines start with `tenant <id>:` and name its key variable. A sync does not
    probe the tenants: a tenant whose key the API refuses fails only its own partition.
    """
    try:
        tenants = load_tenants(settings, environ)
    except TenantsError as error:
        return [Finding(False, problem, FILE_VARIABLE) for problem in error.problems]
    if settings.tenants_file is None:
        return api_findings(settings, shared_budget=shared_budget)
    findings = [Finding(True, f"{FILE_VARIABLE}: {len(tenants)} tenants", FILE_VARIABLE)]
    findings += [Finding(False, problem, FILE_VARIABLE) for problem in missing_keys(tenants)]
    keyed = [tenant for tenant in tenants if tenant.api_key is not None and probe_tenants]

    def probe(tenant: Tenant) -> list[Finding]:
        tenant_settings = replace(
            settings,
            api_key=tenant.api_key,
            api_base_url=tenant.base_url,
            api_user_id=tenant.api_user_id,
        )
        return [
            Finding(
                finding.ok,
                f"tenant {tenant.id}: {finding.text.replace(KEY_VARIABLE, tenant.api_key_env)}",
                tenant.id,
            )
            for finding in api_findings(tenant_settings, shared_budget=shared_budget)
        ]

    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        for tenant_findings in pool.map(probe, keyed):
            findings += tenant_findings
    return findings


def api_findings(settings: Settings, *, shared_budget: bool = True) -> list[Finding]:
    """The key (one `GET /v4/user/me` as the owner), then the acting user if one is set.

    No request is retried and each times out after `PROBE_TIMEOUT_S`. With `shared_budget`
    the probe draws from the budget in `MEETERGO_API_BUDGET_DIR` like every other process.
    """
    if settings.api_key is None:
        return [
            Finding(
                False,
                f"{KEY_VARIABLE} is not set: set the platform API key (sync and check need it; "
                "`run` without it serves the simulator)",
            )
        ]
    base_url = settings.api_base_url
    options: dict[str, object] = {"max_attempts": 1, "timeout_s": PROBE_TIMEOUT_S}
    if not shared_budget:
        client_settings = settings.client
        options["budget"] = RateBudget.from_share(
            client_settings.budget_share,
            limit_per_minute=client_settings.rate_limit_per_minute,
            limit_burst=client_settings.rate_limit_burst,
        )
    try:
        with _probe_client(settings, options) as client:
            me = client.get_me() if client.acting_user_id is None else {"id": client.acting_user_id}
            findings = [Finding(True, f"{KEY_VARIABLE}: accepted by {base_url} ({ME})")]
            if settings.api_user_id:
                findings.append(_acting_user_finding(client, settings.api_user_id))
            elif me.get("id"):
                findings.append(Finding(True, f"{USER_VARIABLE}: unset, acting as {me['id']}"))
            return findings
    except MeetergoError as error:
        return [Finding(False, _api_problem(error, base_url))]
    except (KeyError, TypeError, AttributeError):  # a 200 without the user's fields
        return [
            Finding(
                False,
                f"{BASE_URL_VARIABLE}={base_url} did not answer {ME} like the meetergo API: "
                "check the URL",
            )
        ]
    except OSError as error:
        return [Finding(False, f"cannot use {variable('api_budget_dir')}: {error}")]


@contextlib.contextmanager
def _probe_client(settings: Settings, options: dict[str, object]) -> Iterator[MeetergoClient]:
    """A client that acts as the key's owner (the key is judged apart from the acting user)."""
    client = build_client(replace(settings.client, acting_user_id=None), **options)
    try:
        yield client
    finally:
        client.close()


def _acting_user_finding(client: MeetergoClient, user_id: str) -> Finding:
    try:
        me = client.http.request("GET", "/v4/user/me", acting_user_id=user_id)
    except (MeetergoAuthError, MeetergoNotFoundError) as error:
        text = "; ".join(error.message) if isinstance(error.message, list) else error.message
        return Finding(
            False,
            f"{USER_VARIABLE}={user_id!r} is not a user the key can act as "
            f"({error.status_code}: {text}): set the id of a user of the key's company, "
            "or unset it to act as the owner",
        )
    if not isinstance(me, dict) or me.get("id") != user_id:
        return Finding(False, f"{USER_VARIABLE}={user_id!r}: the API answered as another user")
    return Finding(True, f"{USER_VARIABLE}: {user_id} exists")


def _api_problem(error: MeetergoError, base_url: str) -> str:
    if isinstance(error, MeetergoConnectError):
        return str(error)
    if isinstance(error, MeetergoAuthError) and error.status_code == 401:
        return auth_problem(error)
    if isinstance(error, MeetergoAuthError):
        return (
            f"{KEY_VARIABLE} may not read {ME} at {base_url} ({error.status_code}): use a key "
            "with admin rights on the company"
        )
    if isinstance(error, MeetergoNotFoundError):
        return (
            f"{BASE_URL_VARIABLE}={base_url} has no {ME} (404): set the meetergo API's base "
            "URL, e.g. https://api.meetergo.com"
        )
    if isinstance(error, MeetergoAPIError):
        text = "; ".join(error.message) if isinstance(error.message, list) else error.message
        return (
            f"{BASE_URL_VARIABLE}={base_url} answered {ME} with {error.status_code} ({text}): "
            "try again later, or check the URL if it persists"
        )
    return (
        f"{BASE_URL_VARIABLE}={base_url} did not answer {ME} like the meetergo API ({error}): "
        "check the URL"
    )
