"""The preflight's file checks: the folders the pipeline writes, and the working file's lock.

A folder passes when a probe file can be created in it, or in its nearest existing parent
while it is missing (the pipeline creates it); the working file passes when it can be opened
for appending and no other process holds DuckDB's lock on it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import duckdb

from meetergo_pipeline.preflight.finding import Finding
from meetergo_pipeline.settings import Settings, variable


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


def budget_folder_ok(settings: Settings, folders: list[Finding]) -> bool:
    """Whether the API budget folder passed among `folders` (else probes get their own budget)."""
    name = variable("api_budget_dir")
    return all(finding.ok for finding in folders if finding.subject == name)
