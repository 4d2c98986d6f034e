"""Preflight: check the settings and probe every dependency before anything runs.

`check_all` is `meetergo-pipeline check`: every setting, the API key, the base URL and the
acting user (one request each, no retries, short timeouts), the folders the pipeline writes,
the working file's lock, the schedules and, when asked, the receiver's port. `check_for_sync`
runs the probes a sync needs. Each finding is one line; a failure names the variable, the
value where it is not a secret, and what to do.

One module per concern: `finding` (the line), `api` (tenants, keys, URL, acting user),
`folders` (writable folders, the working file's lock), `lake` (DuckLake), `services`
(schedules, the receiver's token and port).
"""

from __future__ import annotations

from collections.abc import Mapping

from meetergo_pipeline.preflight.api import (
    BASE_URL_VARIABLE,
    ME,
    PROBE_WORKERS,
    api_findings,
    tenant_api_findings,
)
from meetergo_pipeline.preflight.finding import PROBE_TIMEOUT_S, Finding
from meetergo_pipeline.preflight.folders import (
    budget_folder_ok,
    folder_findings,
    folder_problem,
    lock_finding,
)
from meetergo_pipeline.preflight.lake import lake_findings
from meetergo_pipeline.preflight.services import port_problem, receiver_findings, schedule_finding
from meetergo_pipeline.settings import SETTINGS, Settings, SettingsError, variable

__all__ = [
    "BASE_URL_VARIABLE",
    "ME",
    "PROBE_TIMEOUT_S",
    "PROBE_WORKERS",
    "Finding",
    "api_findings",
    "check_all",
    "check_for_sync",
    "failures",
    "folder_findings",
    "folder_problem",
    "lake_findings",
    "lock_finding",
    "port_problem",
    "read_settings",
    "receiver_findings",
    "schedule_finding",
    "tenant_api_findings",
]


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
    findings += tenant_api_findings(settings, environ, budget_folder_ok(settings, folders))
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
    shared_budget = budget_folder_ok(settings, folders)
    findings += tenant_api_findings(settings, environ, shared_budget, probe_tenants=False)
    return findings


def failures(findings: list[Finding]) -> list[Finding]:
    """The findings that are not ok, in order."""
    return [finding for finding in findings if not finding.ok]
