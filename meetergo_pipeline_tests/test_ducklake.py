"""The DuckLake warehouse (`MEETERGO_WAREHOUSE=ducklake`): a real PostgreSQL catalog and a
real S3-compatible server (moto) on loopback, syncs run through Dagster and as a process.

The lake needs DuckDB's ducklake, postgres_scanner and httpfs extensions from PyPI, which
exist for DuckDB 1.5.5 only: on another DuckDB the lake tests skip, saying so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from meetergo_pipeline.defs.resources import build_resources
from meetergo_pipeline.preflight import Finding, check_for_sync
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.warehouse.lake import (
    LAKE_MIN_MEMORY,
    PUBLISHED_METADATA_SCHEMA,
    LakeNotCreatedError,
    LakeSettings,
    LakeSetupError,
    attach_lake,
    attach_published_lake,
    load_extensions,
)
from meetergo_pipeline.warehouse.lake_lock import lake_writer_lock
from meetergo_pipeline.warehouse.publish import published_tables
from meetergo_pipeline.warehouse.writer_lock import WarehouseBusyError
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync, use_pipeline_env
from meetergo_pipeline_tests.support.postgres import PostgresServer
from meetergo_pipeline_tests.support.processes import descendants
from meetergo_pipeline_tests.support.s3 import KEY_ID, REGION, SECRET, S3Server, s3_server

CATALOG_PASSWORD = "lake-password-never-shown"
# Published columns of core.appointments that a sync's clock does not change.
APPOINTMENT_STATE = (
    "appointment_id, meeting_type_id, host_user_id, start_at, end_at, created_at, updated_at, "
    "status, cancelled_at, reschedule_count, original_start_at, attendee_count, deleted_at"
)


def _missing_extensions() -> str | None:
    con = duckdb.connect()
    try:
        load_extensions(con)
    except LakeSetupError as error:
        return str(error)
    finally:
        con.close()
    return None


MISSING = _missing_extensions()
# `make test-lake` sets this in the lake's environment: there a missing part fails the tests
# instead of skipping them.
REQUIRED = os.environ.get("MEETERGO_LAKE_TESTS_REQUIRED") == "1"
needs_lake = pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    if not REQUIRED:
        pytest.importorskip("moto.server", reason="moto[server] (the lake extra) serves S3 here")
    with s3_server() as server:
        yield server


@dataclass
class Lake:
    """One lake: a fresh catalog database and a fresh bucket; its settings as variables."""

    settings: LakeSettings
    bucket: str

    def variables(self) -> dict[str, str]:
        return {
            "MEETERGO_WAREHOUSE": "ducklake",
            "MEETERGO_DUCKDB_MEMORY_LIMIT": LAKE_MIN_MEMORY,
            "MEETERGO_DUCKLAKE_CATALOG": self.settings.catalog_url,
            "MEETERGO_DUCKLAKE_DATA_PATH": self.settings.data_path,
            "MEETERGO_DUCKLAKE_PUBLISHED_PATH": self.settings.published_path or "",
            "MEETERGO_DUCKLAKE_S3_ENDPOINT": self.settings.s3_endpoint or "",
            "MEETERGO_DUCKLAKE_S3_KEY_ID": KEY_ID,
            "MEETERGO_DUCKLAKE_S3_SECRET": SECRET,
            "MEETERGO_DUCKLAKE_S3_REGION": REGION,
        }

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only attach of the working lake: the lake is the default catalog."""
        con = duckdb.connect()
        attach_lake(con, self.settings, read_only=True)
        return con

    def analyst(self, role: str | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only attach of the published lake as an analyst makes it (as `role`)."""
        settings = self.settings
        if role is not None:
            parts = urlsplit(settings.catalog_url)
            url = f"postgresql://{role}@{parts.hostname}:{parts.port}{parts.path}"
            settings = replace(settings, catalog_url=url)
        con = duckdb.connect()
        attach_published_lake(con, settings, "meetergo", read_only=True)
        con.execute("USE meetergo")
        return con

    def grant_analyst_role(self, postgres: PostgresServer, role: str) -> None:
        """The catalog grants docs/deployment.md gives analysts: the published schema only."""
        database = urlsplit(self.settings.catalog_url).path.lstrip("/")
        con = postgres.connect(database)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f"CREATE ROLE {role} LOGIN")
                cur.execute(f"GRANT USAGE ON SCHEMA {PUBLISHED_METADATA_SCHEMA} TO {role}")
                cur.execute(
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA {PUBLISHED_METADATA_SCHEMA} TO {role}"
                )
        finally:
            con.close()


def new_lake(postgres: PostgresServer, s3: S3Server) -> Lake:
    name = f"lake_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(postgres.create_database(name))
    catalog = (
        f"postgresql://{parts.username}:{CATALOG_PASSWORD}@{parts.hostname}:{parts.port}/{name}"
    )
    bucket = s3.create_bucket(name.replace("_", "-"))
    data_path, published = f"s3://{bucket}/warehouse/", f"s3://{bucket}/published/"
    settings = LakeSettings(catalog, data_path, s3.endpoint, KEY_ID, SECRET, REGION, published)
    return Lake(settings, bucket)


@pytest.fixture
def lake(postgres_server: PostgresServer, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Lake:
    made = new_lake(postgres_server, s3)
    for variable, value in made.variables().items():
        monkeypatch.setenv(variable, value)
    return made


def counts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables)


def appointment_state(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(f"SELECT {APPOINTMENT_STATE} FROM core.appointments ORDER BY ALL").fetchall()


@pytest.mark.slow
@needs_lake
def test_a_sync_writes_every_layer_into_the_lake_and_the_snapshot_stays_available(
    pipeline_env: PipelineEnv,
    lake: Lake,
    s3: S3Server,
    postgres_server: PostgresServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    result = run_sync("full")
    assert result.success, [event.message for event in result.all_events if event.is_failure]

    reader = lake.reader()
    in_lake = dict(
        reader.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
            "WHERE database_name = 'warehouse'"
        ).fetchall()
    )
    assert in_lake["raw.appointments"] == 700
    assert in_lake["raw.users"] == 5
    assert in_lake["core.appointments"] == 700
    assert in_lake["analytics.bookings"] == 700
    assert reader.execute("SELECT count(*) FROM raw.sync_runs WHERE mode = 'full'").fetchone() == (
        1,
    )
    # the data is Parquet on S3, the DuckDB file was never made
    keys = s3.keys(lake.bucket)
    assert any(key.startswith("warehouse/raw/appointments/") for key in keys), keys[:5]
    assert not any(key.startswith("published/raw/") for key in keys)
    assert all(key.endswith(".parquet") for key in keys)
    assert not pipeline_env.duckdb_path.exists()
    # the analysts' snapshot is published as before, from the lake's tables
    snapshot = duckdb.connect(str(pipeline_env.snapshot_path), read_only=True)
    assert appointment_state(snapshot) == appointment_state(reader)
    # and the published lake holds exactly the snapshot's tables and columns, nothing raw
    analyst = lake.analyst()
    columns = (
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() ORDER BY ALL"
    )
    assert analyst.execute(columns).fetchall() == snapshot.execute(columns).fetchall()
    tables = analyst.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = 'meetergo' ORDER BY ALL"
    ).fetchall()
    assert [name for (name,) in tables] == sorted(published_tables())
    assert appointment_state(analyst) == appointment_state(snapshot)
    # a catalog role granted only the published schema reads it, and not the working lake
    role = f"analyst_{uuid.uuid4().hex[:8]}"
    lake.grant_analyst_role(postgres_server, role)
    assert appointment_state(lake.analyst(role)) == appointment_state(snapshot)
    with pytest.raises(LakeSetupError, match="permission denied"):
        attach_lake(
            duckdb.connect(),
            replace(
                lake.settings,
                catalog_url=lake.settings.catalog_url.replace("postgres:", f"{role}:"),
            ),
            read_only=True,
        )
    assert any(key.startswith("published/core/appointments/") for key in keys)
    # neither the catalog's password nor the S3 secret shows in Dagster's events or output
    shown = " ".join(str(event) for event in result.all_events) + "".join(capfd.readouterr())
    assert CATALOG_PASSWORD not in shown
    assert SECRET not in shown


@pytest.mark.slow
@needs_lake
def test_a_reader_attached_during_a_sync_sees_only_committed_states(
    pipeline_env: PipelineEnv, lake: Lake
) -> None:
    assert run_sync("full").success
    tables = ("raw.appointments", "core.appointments", "analytics.bookings")
    reader = lake.reader()
    before = counts(reader, tables)
    pipeline_env.sim.tenant.add_random_bookings(40)

    held = lake.reader()  # a reader inside one transaction from before the sync to its end
    held.execute("BEGIN")
    assert counts(held, tables) == before

    log = pipeline_env.root / "sync.log"
    analyst = lake.analyst()
    published_before = counts(analyst, ("core.appointments",))
    sync = _start_sync("full", log)
    seen: list[tuple[int, tuple[int, ...]]] = []
    published_seen: set[tuple[int, ...]] = set()
    while sync.poll() is None:
        reader.execute("BEGIN")
        (snapshot,) = reader.execute("SELECT id FROM warehouse.current_snapshot()").fetchone()
        seen.append((snapshot, counts(reader, tables)))
        reader.execute("COMMIT")
        analyst.execute("BEGIN")  # both counts from one state of the published lake
        published_seen.add(counts(analyst, ("core.appointments", "analytics.bookings")))
        analyst.execute("COMMIT")
        time.sleep(0.02)
    assert sync.returncode == 0, log.read_text()[-3000:]

    after = counts(reader, tables)
    assert after[0] == before[0] + 40 and after[1] == after[2] == after[0]
    # every state a reader saw is one the lake committed, exactly as that snapshot holds it
    for snapshot, observed in seen:
        at = tuple(
            reader.execute(f"SELECT count(*) FROM {t} AT (VERSION => {snapshot})").fetchone()[0]
            for t in tables
        )
        assert observed == at
        assert observed[1] in (before[1], after[1])  # core: the old build or the new, whole
    assert len({snapshot for snapshot, _ in seen}) >= 2  # the sync committed while we read
    # the published lake: the previous publication or the new one, never a mix or a gap
    published_after = counts(analyst, ("core.appointments", "analytics.bookings"))
    assert published_after == (after[1], after[1])
    assert published_seen <= {published_before * 2, published_after}
    # a reader's transaction keeps its state however much the sync commits meanwhile
    assert counts(held, tables) == before
    held.execute("COMMIT")
    assert counts(held, tables) == after


@pytest.mark.slow
@needs_lake
def test_a_sync_killed_mid_write_leaves_the_lake_consistent_and_the_rerun_equals_a_clean_run(
    tmp_path: Path,
    postgres_server: PostgresServer,
    s3: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = SimulatorConfig(seed=7, users=8, appointments=3000, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim:
        use_pipeline_env(PipelineEnv(sim, tmp_path / "killed"), monkeypatch)
        monkeypatch.setenv("MEETERGO_SYNC_WORKERS", "1")
        monkeypatch.setenv("MEETERGO_SYNC_COMMIT_EVERY_ROWS", "200")
        killed = new_lake(postgres_server, s3)
        for variable, value in killed.variables().items():
            monkeypatch.setenv(variable, value)

        sync = _start_sync("full", tmp_path / "killed.log")
        deadline = time.monotonic() + 120
        reader = _wait_for_the_lake(killed, sync, deadline)
        while _raw_appointments(reader) < 400:  # a few commits in, far from the end
            assert sync.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        _kill_tree(sync)
        partial = _raw_appointments(reader)
        assert 0 < partial < 3000
        assert reader.execute("SELECT count(*) FROM raw.sync_runs").fetchone() == (0,)

        # every table of the last committed snapshot reads whole: files and catalog agree
        fresh = killed.reader()
        for (table,) in fresh.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE database_name = 'warehouse'"
        ).fetchall():
            fresh.execute(f"SELECT * FROM {table}").fetchall()
        assert _raw_appointments(fresh) >= partial

        # the rerun takes the dead run's writer lock and finishes the lake
        assert run_sync("full").success
        rerun = killed.reader()

        clean = new_lake(postgres_server, s3)
        for variable, value in clean.variables().items():
            monkeypatch.setenv(variable, value)
        monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(tmp_path / "clean.duckdb"))
        assert run_sync("full").success
        reference = clean.reader()

    assert _raw_appointments(rerun) == _raw_appointments(reference) == 3000
    assert appointment_state(rerun) == appointment_state(reference)
    tables = (
        "core.users",
        "core.meeting_types",
        "analytics.bookings",
        "analytics.metered_bookings",
    )
    assert counts(rerun, tables) == counts(reference, tables)


@pytest.mark.slow
@needs_lake
def test_a_second_writer_waits_for_the_lakes_lock_and_a_killed_holder_releases_it(
    lake: Lake,
) -> None:
    announced: list[str] = []
    second = lake_writer_lock(lake.settings, wait_s=0.6, run_id="second", announce=announced.append)
    with (
        lake_writer_lock(lake.settings, wait_s=0, run_id="first-run"),
        pytest.raises(WarehouseBusyError) as busy,
        second,
    ):
        pytest.fail("a second writer got the lock")
    assert f"pid={os.getpid()}" in str(busy.value) and "run=first-ru" in str(busy.value)
    assert "MEETERGO_WRITER_LOCK_WAIT_S" in str(busy.value)
    assert CATALOG_PASSWORD not in str(busy.value) and len(announced) == 1

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from meetergo_pipeline.warehouse.lake import LakeSettings\n"
            "from meetergo_pipeline.warehouse.lake_lock import lake_writer_lock\n"
            f"with lake_writer_lock(LakeSettings({lake.settings.catalog_url!r}, 'unused'), "
            "wait_s=0):\n    print('held', flush=True)\n    time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(WarehouseBusyError), lake_writer_lock(lake.settings, wait_s=0.3):
        pass
    holder.kill()
    holder.wait()
    with lake_writer_lock(lake.settings, wait_s=10):  # the server ended the dead session's lock
        pass


@pytest.mark.slow
@needs_lake
def test_check_reports_the_lakes_catalog_and_memory_in_one_line_each_never_the_password(
    pipeline_env: PipelineEnv, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lake_lines() -> list[Finding]:
        wanted = ("MEETERGO_WAREHOUSE", "MEETERGO_DUCKLAKE", "MEETERGO_DUCKDB_MEMORY_LIMIT")
        found = [
            f
            for f in check_for_sync()
            if f.subject.startswith(wanted[1:]) or f.subject == wanted[0]
        ]
        assert all(CATALOG_PASSWORD not in f.text for f in check_for_sync())
        return found

    assert lake_lines() == [
        Finding(
            True,
            f"MEETERGO_WAREHOUSE: the DuckLake catalog {lake.settings.catalog_name} holds no lake "
            "yet: the first sync creates it",
            "MEETERGO_WAREHOUSE",
        )
    ]
    monkeypatch.setenv("MEETERGO_DUCKDB_MEMORY_LIMIT", "192MB")
    assert [f.text for f in lake_lines() if not f.ok] == [
        "MEETERGO_DUCKDB_MEMORY_LIMIT=192MB is too little for a DuckLake warehouse: set it to "
        "512MB or more (a layer's rebuild writes its Parquet files in one transaction)"
    ]
    parts = urlsplit(lake.settings.catalog_url)
    closed = lake.settings.catalog_url.replace(f":{parts.port}/", ":1/")
    monkeypatch.setenv("MEETERGO_DUCKLAKE_CATALOG", closed)
    (refused,) = lake_lines()
    assert not refused.ok
    assert refused.text.startswith(
        f"cannot attach the DuckLake catalog {parts.hostname}:1{parts.path} "
        "(MEETERGO_DUCKLAKE_CATALOG): "
    )
    assert "Connection refused" in refused.text


def test_the_file_stays_the_default_and_a_lake_without_its_settings_is_refused() -> None:
    assert build_resources(Settings.from_env({}))["warehouse"].lake is None
    incomplete = Settings.from_env(
        {"MEETERGO_WAREHOUSE": "ducklake", "MEETERGO_DUCKLAKE_DATA_PATH": "s3://bucket/lake/"}
    )
    with pytest.raises(LakeSetupError) as refused:
        LakeSettings.from_settings(incomplete)
    assert str(refused.value) == (
        "MEETERGO_WAREHOUSE=ducklake needs MEETERGO_DUCKLAKE_CATALOG, MEETERGO_DUCKLAKE_S3_KEY_ID, "
        "MEETERGO_DUCKLAKE_S3_SECRET (see docs/deployment.md, DuckLake warehouse)"
    )


@pytest.mark.slow
@needs_lake
def test_tenants_synced_by_parallel_processes_share_one_lake(
    pipeline_env: PipelineEnv, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = pipeline_env.sim.add_tenant(
        SimulatorConfig(seed=12, users=3, appointments=300, rate_limit_enabled=False)
    )
    tenants = {"north": pipeline_env.sim.tenant, "south": second}
    tenants_file = pipeline_env.root / "tenants.toml"
    tenants_file.write_text(
        "".join(
            f'[[tenants]]\nid = "{name}"\napi_key_env = "{name.upper()}_MEETERGO_API_KEY"\n'
            for name in tenants
        )
    )
    monkeypatch.setenv("MEETERGO_TENANTS_FILE", str(tenants_file))
    for name, tenant in tenants.items():
        monkeypatch.setenv(f"{name.upper()}_MEETERGO_API_KEY", tenant.api_key)

    # One process per tenant, started together: the lake's writer lock lets one write at a
    # time, the other waits for it instead of conflicting on the shared tables.
    logs = {name: pipeline_env.root / f"sync-{name}.log" for name in tenants}
    syncs = {name: _start_sync("full", logs[name], "--tenant", name) for name in tenants}
    for name, sync in syncs.items():
        assert sync.wait(timeout=600) == 0, logs[name].read_text()[-3000:]

    reader = lake.reader()
    per_tenant = dict(
        reader.execute("SELECT tenant_id, count(*) FROM core.appointments GROUP BY ALL").fetchall()
    )
    assert per_tenant == {name: len(tenant.appointments) for name, tenant in tenants.items()}
    raw_per_tenant = dict(
        reader.execute("SELECT tenant_id, count(*) FROM raw.appointments GROUP BY ALL").fetchall()
    )
    assert raw_per_tenant == per_tenant
    assert counts(lake.analyst(), ("core.appointments",)) == (sum(per_tenant.values()),)


def _start_sync(mode: str, log: Path, *arguments: str) -> subprocess.Popen[str]:
    """`meetergo-pipeline sync` as its own process, with this test's variables; its output
    goes to `log` (a pipe it could fill would stall it)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "meetergo_pipeline.cli", "sync", "--mode", mode, *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"},
        )


def _kill_tree(process: subprocess.Popen[str]) -> None:
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def _wait_for_the_lake(
    lake: Lake, sync: subprocess.Popen[str], deadline: float
) -> duckdb.DuckDBPyConnection:
    """A reader of `lake` once the sync has created it."""
    while True:
        try:
            return lake.reader()
        except LakeNotCreatedError:
            assert sync.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)


def _raw_appointments(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return con.execute("SELECT count(*) FROM raw.appointments").fetchone()[0]
    except duckdb.CatalogException:
        return 0  # the first commit has not happened yet
