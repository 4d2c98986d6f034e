"""Preflight: check the settings and probe every dependency before anything runs.

`check_all` is `meetergo-pipeline check`: every setting, the API key, the base URL and the
acting user (one request each, no retries, short timeouts), the folders the pipeline writes,
the working file's lock, the schedules and, when asked, the receiver's port. `check_for_sync`
runs the probes a sync needs. Each finding is one line; a failure names the variable, the
value where it is not a secret, and what to do.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

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
from meetergo_pipeline.problems import KEY_VARIABLE, USER_VARIABLE, auth_problem, bind_problem
from meetergo_pipeline.settings import SETTINGS, Settings, SettingsError, variable
from meetergo_pipeline.tenants import (
    FILE_VARIABLE,
    Tenant,
    TenantsError,
    load_tenants,
    missing_keys,
)
from meetergo_pipeline.warehouse.lake import (
    LAKE_MIN_MEMORY,
    LakeNotCreatedError,
    LakeSettings,
    LakeSetupError,
    attach_lake,
    load_extensions,
    memory_bytes,
)

PROBE_TIMEOUT_S = 4.0  # per request; a probe sends at most two, each at most once
PROBE_WORKERS = 8  # tenants probed at once
BASE_URL_VARIABLE = variable("api_base_url")
ME = "GET /v4/user/me"


@dataclass(frozen=True)
class Finding:
    """One line of the preflight: `ok` or a failure saying what to do; `subject` is the
    variable (or part) it is about."""

    ok: bool
    text: str
    subject: str = ""


def read_settings(
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings | None, list[Finding]]:
    """The settings, or None and one failure per bad variable."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        return None, [Finding(False, problem) for problem in error.problems]
    return settings, [Finding(True, f"settings: all {len(SETTINGS)} variables valid")]


def check_all(
    environ: Mapping[str, str] | None = None, *, receiver: tuple[str, int] | None = None
) -> list[Finding]:
    """Every check of `meetergo-pipeline check`; `receiver` is the (host, port) to bind."""
    settings, findings = read_settings(environ)
    if settings is None:
        return findings
    folders = folder_findings(settings)
    findings += folders
    if settings.warehouse == "ducklake":
        findings += lake_findings(settings)
    else:
        findings.append(lock_finding(settings.duckdb_path))
    findings.append(schedule_finding(settings))
    findings += tenant_api_findings(settings, environ, _budget_folder_ok(settings, folders))
    if receiver is not None:
        findings += receiver_findings(settings, *receiver)
    return findings


def check_for_sync(environ: Mapping[str, str] | None = None) -> list[Finding]:
    """The checks a sync needs: settings, schedules, the API, the folders it writes."""
    settings, findings = read_settings(environ)
    if settings is None:
        return findings
    folders = [
        finding
        for finding in folder_findings(settings)
        if finding.subject != variable("webhook_log_dir")
    ]
    findings += folders
    if settings.warehouse == "ducklake":
        findings += lake_findings(settings)
    findings.append(schedule_finding(settings))
    shared_budget = _budget_folder_ok(settings, folders)
    findings += tenant_api_findings(settings, environ, shared_budget, probe_tenants=False)
    return findings


def failures(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if not finding.ok]


# --- the API -------------------------------------------------------------------------------


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


# --- files ---------------------------------------------------------------------------------


def folder_findings(settings: Settings) -> list[Finding]:
    """Whether each folder the pipeline writes accepts new files (the working file too)."""
    paths = {
        variable("duckdb_path"): (settings.duckdb_path, settings.duckdb_path.parent),
        variable("snapshot_path"): (settings.snapshot_path, settings.snapshot_path.parent),
        variable("webhook_log_dir"): (settings.webhook_log_dir, settings.webhook_log_dir),
        variable("api_budget_dir"): (settings.api_budget_dir, settings.api_budget_dir),
    }
    findings = []
    for name, (value, folder) in paths.items():
        problem = folder_problem(folder, name)
        if problem is None and name == variable("duckdb_path"):
            problem = _unwritable_file(value, name)
        if problem is None:
            state = "is writable" if folder.is_dir() else "can be created"
            findings.append(Finding(True, f"{name}: {folder} {state}", name))
        else:
            findings.append(Finding(False, f"{name}={value}: {problem}", name))
    return findings


def folder_problem(folder: Path, setting: str) -> str | None:
    """Why files cannot be created in `folder`, or in its nearest existing parent while it
    is missing (the pipeline creates it), and what to do; None if they can. A probe file is
    created and deleted: permission bits alone do not tell (root, ACLs, read-only mounts)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder: point {setting} elsewhere"
    try:
        handle, probe = tempfile.mkstemp(prefix=".meetergo-write-probe-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return (
            f"cannot create files in {existing} ({error.strerror or error}): make it writable "
            f"by this user or point {setting} elsewhere"
        )
    return None


def _unwritable_file(path: Path, setting: str) -> str | None:
    """Why an existing file cannot be written (opened for appending, nothing written)."""
    if not path.exists():
        return None
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        return (
            f"cannot write the file ({error.strerror or error}): make it writable by this "
            f"user or point {setting} elsewhere"
        )
    return None


def lock_finding(path: Path) -> Finding:
    """Whether another process holds the working file (DuckDB allows one writer)."""
    name = variable("duckdb_path")
    if not path.exists():
        return Finding(True, f"{name}: {path} does not exist yet (the first sync creates it)", name)
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as error:
        text = str(error)
        if "lock" not in text.lower():
            return Finding(False, f"{name}={path} cannot be opened: {text.splitlines()[0]}", name)
        holder = re.search(r"PID (\d+)", text)
        by = f" (PID {holder.group(1)})" if holder else ""
        return Finding(
            False,
            f"{name}={path} is in use by another process{by}: wait for it or stop it; "
            f"analysts should open the snapshot ({variable('snapshot_path')}) instead",
            name,
        )
    return Finding(True, f"{name}: {path} is not in use by another process", name)


def lake_findings(settings: Settings) -> list[Finding]:
    """With `MEETERGO_WAREHOUSE=ducklake`: the lake's settings, its extensions, its catalog
    (attached read-only) and its local folders (an `s3://` path is first written by a sync)."""
    name = variable("warehouse")
    try:
        lake = LakeSettings.from_settings(settings)
    except LakeSetupError as error:
        return [Finding(False, str(error), name)]
    if lake is None:
        return []
    try:
        probe = duckdb.connect(config={"autoinstall_known_extensions": False})
        try:
            load_extensions(probe)
            probe.execute(f"SET http_timeout = {int(PROBE_TIMEOUT_S)}")
            attach_lake(probe, lake, read_only=True)
        finally:
            probe.close()
        attached = f"{name}: the DuckLake catalog {lake.catalog_name} attaches"
    except LakeNotCreatedError as error:
        attached = f"{name}: {error}"
    except LakeSetupError as error:
        return [Finding(False, str(error), name)]
    findings = [Finding(True, attached, name)]
    memory = variable("duckdb_memory_limit")
    given = memory_bytes(settings.duckdb_memory_limit)
    if given is not None and given < (memory_bytes(LAKE_MIN_MEMORY) or 0):
        findings.append(
            Finding(
                False,
                f"{memory}={settings.duckdb_memory_limit} is too little for a DuckLake "
                f"warehouse: set it to {LAKE_MIN_MEMORY} or more (a layer's rebuild writes its "
                "Parquet files in one transaction)",
                memory,
            )
        )
    folders = {"ducklake_data_path": lake.data_path, "ducklake_published_path": lake.published_path}
    for field, path in folders.items():
        if path is None or path.startswith("s3://"):
            continue
        setting = variable(field)
        problem = folder_problem(Path(path), setting)
        text = f"{setting}={path}: {problem}" if problem else f"{setting}: {path} is writable"
        findings.append(Finding(problem is None, text, setting))
    return findings


def _budget_folder_ok(settings: Settings, folders: list[Finding]) -> bool:
    name = variable("api_budget_dir")
    return all(finding.ok for finding in folders if finding.subject == name)


# --- schedules and the receiver ------------------------------------------------------------


def schedule_finding(settings: Settings) -> Finding:
    """The schedules as Dagster builds them (the crons are checked when settings are read)."""
    from meetergo_pipeline.defs.jobs import build_schedules

    zone = variable("schedule_timezone")
    try:
        build_schedules(
            settings.sync_cron, settings.full_sweep_cron, settings.schedule_timezone, running=False
        )
    except Exception as error:  # Dagster's definition errors have no common public base
        return Finding(
            False,
            f"{zone}={settings.schedule_timezone!r} is not a time zone Dagster knows "
            f"({type(error).__name__}): use an IANA name such as UTC or Europe/Berlin",
        )
    return Finding(
        True,
        f"schedules: {variable('sync_cron')} {settings.sync_cron!r}, "
        f"{variable('full_sweep_cron')} {settings.full_sweep_cron!r} in "
        f"{settings.schedule_timezone}",
    )


def receiver_findings(settings: Settings, host: str, port: int) -> list[Finding]:
    """The receiver's token is set and its port can be bound."""
    findings = []
    if settings.webhook_token is None:
        token = variable("webhook_token")
        findings.append(Finding(False, f"{token} is not set: the receiver needs it", token))
    problem = port_problem(host, port, option="--receiver-port")
    findings.append(Finding(problem is None, problem or f"receiver: {host}:{port} is free"))
    return findings


def port_problem(host: str, port: int, *, option: str = "--port") -> str | None:
    """Why the receiver could not listen on `host:port` (bound like the receiver binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        return bind_problem(host, port, error, option=option)
    return None
