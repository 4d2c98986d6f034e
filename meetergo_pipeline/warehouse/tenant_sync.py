"""Sync many tenants in one run: a few at a time, each with its own client, budget and state.

Each tenant's sync (`sync_api_to_raw`) runs on a worker thread with its own DuckDB cursor of
the writer's connection (its own transactions and staging tables) and its own API client, so
its own rate budget (one per key, `client/budget.py`). A tenant that fails (a refused key, an
outage outlasting the client's retries) is recorded with its one-line message and the others
go on: what a tenant committed before failing stays, like after any interrupted sync. A stop
request ends every tenant's sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb

from meetergo_pipeline.client import MeetergoClient, MeetergoError
from meetergo_pipeline.problems import KEY_VARIABLE, unrecoverable
from meetergo_pipeline.sql import one_row
from meetergo_pipeline.warehouse.connection import ensure_raw_schema
from meetergo_pipeline.warehouse.sync import SyncMode, SyncPolicy, SyncReport, sync_api_to_raw

log = logging.getLogger(__name__)

TENANT_WORKERS = 4  # tenants synced at once; each also reads SyncPolicy.workers users at once

OpenClient = Callable[[str], AbstractContextManager[MeetergoClient]]


@dataclass
class TenantsSync:
    """What a many-tenant sync did: each synced tenant's report, each failed tenant's message."""

    reports: dict[str, SyncReport] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def requests_spent(self) -> int:
        return sum(report.requests_spent for report in self.reports.values())


def sync_tenants(
    con: duckdb.DuckDBPyConnection,
    tenant_ids: Sequence[str],
    open_client: OpenClient,
    *,
    mode: SyncMode = "incremental",
    policy: SyncPolicy | None = None,
    run_id: str | None = None,
    progress: Callable[[str], None] = log.info,
    workers: int = TENANT_WORKERS,
    key_variables: Mapping[str, str] | None = None,
) -> TenantsSync:
    """Sync every tenant of `tenant_ids` into the raw tables, `workers` at a time.

    `open_client(tenant_id)` opens that tenant's client (its key, URL and acting user).
    `con` must not be inside a transaction; the file is checkpointed once at the end. A
    tenant's failure is caught and recorded (its message never holds the key); a stop
    request (`StopRequested`) propagates. `key_variables` names each tenant's key variable,
    which its failure message names instead of `MEETERGO_API_KEY`.
    """
    ensure_raw_schema(con)
    (database,) = one_row(con, "SELECT current_database()")
    result = TenantsSync()

    def sync_one(tenant_id: str) -> None:
        cursor = con.cursor()
        try:
            cursor.execute(f'USE "{database}"')
            with open_client(tenant_id) as client:
                report = sync_api_to_raw(
                    cursor,
                    client,
                    mode=mode,
                    policy=policy,
                    run_id=run_id,
                    progress=lambda line: progress(f"{tenant_id}: {line}"),
                    tenant_id=tenant_id,
                    standalone=False,
                )
            result.reports[tenant_id] = report
        except (MeetergoError, OSError, ValueError, duckdb.Error) as error:
            message = unrecoverable(error) or f"{type(error).__name__}: {error}"
            if key_variables and tenant_id in key_variables:
                message = message.replace(KEY_VARIABLE, key_variables[tenant_id])
            result.failures[tenant_id] = message
            progress(f"{tenant_id}: sync failed: {message}")
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tenant") as pool:
        for _ in pool.map(sync_one, tenant_ids):
            pass
    con.execute("CHECKPOINT")
    return result
