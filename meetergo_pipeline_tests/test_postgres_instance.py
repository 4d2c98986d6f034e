"""The Dagster instance of deploy/dagster-postgres.yaml, on a real PostgreSQL over loopback.

Runs, materializations, schedule ticks and the sensor's cursor all land in PostgreSQL
(docs/deployment.md); nothing of the instance is written to SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy
import yaml
from dagster import AssetKey, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorType

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, WEBHOOK_JOB, log_cursor
from meetergo_pipeline.webhooks.log import delivery_line
from meetergo_pipeline_tests.support.pipeline_env import PAGED, PipelineEnv
from meetergo_pipeline_tests.support.postgres import PostgresServer
from meetergo_pipeline_tests.support.processes import stop_tree
from meetergo_pipeline_tests.support.receiver_log import booking

PROJECT = Path(__file__).parents[1]
POSTGRES_YAML = PROJECT / "deploy" / "dagster-postgres.yaml"
BIN = Path(sys.executable).parent
TARGET = ["-m", "meetergo_pipeline.definitions", "-a", "defs"]
SCHEDULE = "meetergo_hourly_incremental"
SENSOR = "meetergo_webhook_log"
SCHEDULE_TAG = "dagster/schedule_name"
SENSOR_TAG = "dagster/sensor_name"
PAGE_DELAY_S = 20  # holds the sync in its API step for well over the sensor's 30 s interval


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def postgres_home(root: Path) -> Path:
    """A DAGSTER_HOME under `root` holding deploy/dagster-postgres.yaml."""
    home = root / "dagster_home"
    home.mkdir()
    config = load_yaml(POSTGRES_YAML)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def instance_env(
    pipeline_env: PipelineEnv, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point this process at a Postgres instance; returns the environment for children."""
    home = postgres_home(pipeline_env.root)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    # Created once here, before the daemon and the CLI would race to create the tables.
    DagsterInstance.get().dispose()
    return dict(os.environ)


def no_sqlite_storage(pipeline_env: PipelineEnv) -> bool:
    return not list((pipeline_env.root / "dagster_home").rglob("*.db"))


def query(server: PostgresServer, url: str, sql: str) -> list[tuple]:
    """Rows of `sql` in the database of the SQLAlchemy `url`, read with psycopg2."""
    database = sqlalchemy.make_url(url).database
    assert database
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return False


def test_the_postgres_instance_is_the_default_instance_but_for_its_storage() -> None:
    default = load_yaml(PROJECT / "meetergo_pipeline" / "dagster.yaml")
    postgres = load_yaml(POSTGRES_YAML)
    assert postgres.pop("storage") == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert "storage" not in default  # Dagster's default: SQLite under DAGSTER_HOME
    assert postgres == default
    assert {"key": "meetergo/warehouse", "limit": 1} in (
        postgres["concurrency"]["runs"]["tag_concurrency_limits"]
    )


def test_a_plain_postgresql_url_asks_for_psycopg3_which_is_not_installed() -> None:
    """Why the documented URL names its driver: `postgresql://` alone does not load."""
    with pytest.raises(ModuleNotFoundError, match="psycopg"):
        sqlalchemy.create_engine("postgresql://dagster@127.0.0.1:5432/dagster")
    engine = sqlalchemy.create_engine("postgresql+psycopg2://dagster@127.0.0.1:5432/dagster")
    assert engine.dialect.driver == "psycopg2"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_sync_command_records_its_run_and_materializations_in_postgres(
    pipeline_env: PipelineEnv,
    postgres_server: PostgresServer,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = instance_env(pipeline_env, postgres_url, monkeypatch)
    done = subprocess.run(
        [str(BIN / "meetergo-pipeline"), "sync", "--mode", "full"],
        cwd=pipeline_env.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    [(run_id, status, job)] = query(
        postgres_server, postgres_url, "SELECT run_id, status, pipeline_name FROM runs"
    )
    assert (status, job) == ("SUCCESS", SYNC_JOB)
    materialized = query(
        postgres_server,
        postgres_url,
        "SELECT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    asset_keys = build_definitions().resolve_all_asset_keys()
    assert sorted(json.loads(key) for (key,) in materialized) == sorted(
        key.path for key in asset_keys
    )
    assert no_sqlite_storage(pipeline_env)

    con = duckdb.connect(str(pipeline_env.duckdb_path), read_only=True)
    try:
        [(appointments,)] = con.execute(
            "SELECT count(*) FROM raw.appointments WHERE deleted_at IS NULL"
        ).fetchall()
    finally:
        con.close()
    assert appointments == 700
    with DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS
        latest = {key: instance.get_latest_materialization_event(key) for key in asset_keys}
    assert {event.run_id for event in latest.values() if event} == {run_id}
    raw = latest[AssetKey(["raw", "appointments"])]
    assert raw and raw.asset_materialization
    assert raw.asset_materialization.metadata["dagster/row_count"].value == appointments


def write_webhook_log(log_dir: Path) -> None:
    """One booking delivery in the receiver's own log format: new data for the sensor."""
    log_dir.mkdir(parents=True, exist_ok=True)
    line = delivery_line(datetime.now(UTC), json.dumps(booking()).encode())
    (log_dir / f"events-{datetime.now(UTC):%Y-%m-%d}.jsonl").write_bytes(line)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_daemon_runs_a_schedule_tick_and_queues_the_sensors_run_behind_it_on_postgres(
    pipeline_env: PipelineEnv,
    postgres_server: PostgresServer,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scheduled sync, held in its API step, and a webhook rebuild the sensor requests
    meanwhile: the rebuild waits in the queue (one warehouse writer), then both succeed."""
    monkeypatch.setenv("MEETERGO_SYNC_CRON", "* * * * *")  # a tick at every minute
    monkeypatch.setenv("MEETERGO_FULL_SWEEP_CRON", "0 0 1 1 *")
    pipeline_env.sim.faults.add(PAGED, method="GET", times=None, delay_s=PAGE_DELAY_S)
    env = instance_env(pipeline_env, postgres_url, monkeypatch)
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *TARGET],
        cwd=pipeline_env.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with DagsterInstance.get() as instance:

            def runs_of(tag: str, name: str) -> list[DagsterRun]:
                return instance.get_runs(RunsFilter(tags={tag: name}))

            def started_sync() -> DagsterRun | None:
                runs = runs_of(SCHEDULE_TAG, SCHEDULE)
                return next((r for r in runs if r.status == DagsterRunStatus.STARTED), None)

            assert wait_for(lambda: started_sync() is not None, timeout_s=150), describe(instance)
            scheduled = started_sync()
            assert scheduled is not None
            write_webhook_log(pipeline_env.webhook_dir)
            # One tick is enough: an operator's `dagster schedule stop`, through the instance.
            stop_schedule(pipeline_env.root, env)
            # The sensor daemon creates its run, then submits it to the queue.
            assert wait_for(
                lambda: any(
                    r.status != DagsterRunStatus.NOT_STARTED for r in runs_of(SENSOR_TAG, SENSOR)
                ),
                timeout_s=90,
            ), describe(instance)
            [sensed] = runs_of(SENSOR_TAG, SENSOR)
            assert sensed.job_name == WEBHOOK_JOB
            assert (sensed.status, status(instance, scheduled.run_id)) == (
                DagsterRunStatus.QUEUED,
                DagsterRunStatus.STARTED,
            )
            pipeline_env.sim.faults.clear()
            assert wait_for(
                lambda: instance.get_run_by_id(sensed.run_id).is_finished, timeout_s=180
            ), describe(instance)
            ended = {
                run_id: instance.get_run_record_by_id(run_id)
                for run_id in (scheduled.run_id, sensed.run_id)
            }
            [sensor_state] = [
                state
                for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
                if state.name == SENSOR
            ]
            schedule_runs = runs_of(SCHEDULE_TAG, SCHEDULE)
    finally:
        pipeline_env.sim.faults.clear()
        stop_tree(daemon, timeout_s=60)
    sync, rebuild = ended[scheduled.run_id], ended[sensed.run_id]
    assert sync and rebuild
    assert sync.dagster_run.status == rebuild.dagster_run.status == DagsterRunStatus.SUCCESS
    assert sync.end_time and rebuild.start_time and sync.end_time <= rebuild.start_time
    assert [run.run_id for run in schedule_runs] == [scheduled.run_id]
    assert sensor_state.instigator_data.cursor == log_cursor(pipeline_env.webhook_dir)
    stored = query(
        postgres_server,
        postgres_url,
        "SELECT t.value, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
        f"WHERE t.key IN ('{SCHEDULE_TAG}', '{SENSOR_TAG}') ORDER BY t.value",
    )
    assert stored == [(SCHEDULE, "SUCCESS"), (SENSOR, "SUCCESS")]
    assert no_sqlite_storage(pipeline_env)


def status(instance: DagsterInstance, run_id: str) -> DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def describe(instance: DagsterInstance) -> list[tuple[str, str, str | None]]:
    """The instance's runs, for a failed wait's message."""
    return [(r.job_name, r.status.value, r.tags.get(SCHEDULE_TAG)) for r in instance.get_runs()]


def stop_schedule(cwd: Path, env: dict[str, str]) -> None:
    stopped = subprocess.run(
        [str(BIN / "dagster"), "schedule", "stop", SCHEDULE, *TARGET],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 0, stopped.stderr[-2000:]
