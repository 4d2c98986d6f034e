"""Many tenants in one deployment: the tenants file, one run syncing every tenant's partition,
ids unique per tenant, one tenant's failure kept to its partition, `sync --tenant`, per-tenant
budgets, webhook deliveries per tenant, and working files from before tenants."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    ExecuteInProcessResult,
    PartitionKeyRange,
    RunRequest,
    build_run_status_sensor_context,
    build_schedule_context,
)

from meetergo_pipeline.cli import main
from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import (
    SYNC_JOB,
    sync_config,
    synced_some_tenants,
    tenant_range_tags,
)
from meetergo_pipeline.preflight import check_for_sync, failures
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.tenants import TenantsError, load_tenants
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs
from meetergo_pipeline.webhooks.log import event_log_path, tenant_of_log_file
from meetergo_pipeline.webhooks.receiver import create_receiver_app
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv

REFUSED_KEY = "ak_live:00000000-0000-4000-8000-000000000000:refusedrefusedrefusedrefused0000"
TWIN_KEY = "ak_live:11111111-1111-4111-8111-111111111111:twintwintwintwintwintwintwintwin"
TOKEN = "tenant-test-token-0123456789"


@dataclass
class Tenants(PipelineEnv):
    """A simulator serving three tenants and a deployment whose tenants file lists them:
    `acme` (the simulator's own tenant), `twin` (generated from the same seed: the same ids,
    another key, a plan of its own) and `small` (another seed)."""

    keys: dict[str, str]

    def working(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def published(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.snapshot_path), read_only=True) as con:
            return con.execute(sql).fetchall()


TENANTS_FILE = """
[[tenants]]
id = "acme"
api_key_env = "ACME_MEETERGO_API_KEY"

[[tenants]]
id = "twin"
api_key_env = "TWIN_MEETERGO_API_KEY"
plan_included_bookings = 2000
plan_price_per_booking = "0.25"

[[tenants]]
id = "small"
api_key_env = "SMALL_MEETERGO_API_KEY"
"""


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenants]:
    config = SimulatorConfig(seed=11, users=3, appointments=300, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim:
        sim.add_tenant(config, api_key=TWIN_KEY)
        small = sim.add_tenant(
            SimulatorConfig(seed=12, users=2, appointments=120, rate_limit_enabled=False)
        )
        keys = {"acme": sim.api_key, "twin": TWIN_KEY, "small": small.api_key}
        (tmp_path / "tenants.toml").write_text(TENANTS_FILE)
        variables = {
            "MEETERGO_TENANTS_FILE": str(tmp_path / "tenants.toml"),
            "MEETERGO_API_BASE_URL": sim.base_url,
            "MEETERGO_DUCKDB_PATH": str(tmp_path / "meetergo.duckdb"),
            "MEETERGO_SNAPSHOT_PATH": str(tmp_path / "meetergo_analytics.duckdb"),
            "MEETERGO_WEBHOOK_LOG_DIR": str(tmp_path / "webhooks"),
            "MEETERGO_API_BUDGET_DIR": str(tmp_path / "api_budget"),
            "MEETERGO_STEP_RETRIES": "0",
            "MEETERGO_API_RATE_LIMIT_PER_MINUTE": "1000000",
            "MEETERGO_API_RATE_LIMIT_BURST": "1000000",
            **{f"{tenant.upper()}_MEETERGO_API_KEY": key for tenant, key in keys.items()},
        }
        monkeypatch.delenv("MEETERGO_API_KEY", raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        yield Tenants(sim, tmp_path, keys)


def dagster_home(root: Path) -> Path:
    (root / "dagster_home").mkdir(exist_ok=True)
    return root / "dagster_home"


def sync_all(instance: DagsterInstance, mode: str = "full") -> ExecuteInProcessResult:
    """The sync job over every tenant's partition, in one run."""
    job = build_definitions().resolve_job_def(SYNC_JOB)
    return job.execute_in_process(
        run_config=sync_config(mode),
        instance=instance,
        raise_on_error=False,
        tags=tenant_range_tags("acme", "small"),
    )


def test_three_tenants_sync_in_one_run_each_row_keyed_by_its_tenant(
    tenants: Tenants, tmp_path: Path
) -> None:
    with DagsterInstance.local_temp(str(dagster_home(tmp_path))) as instance:
        result = sync_all(instance)
        assert result.success
        assert len(instance.get_runs()) == 1
        materialized = instance.get_materialized_partitions(AssetKey(["raw", "appointments"]))
        assert materialized == {"acme", "twin", "small"}

    truth = {tenant: 300 for tenant in ("acme", "twin")} | {"small": 120}
    per_tenant = dict(
        tenants.working("SELECT tenant_id, count(*) FROM raw.appointments GROUP BY ALL")
    )
    assert per_tenant == truth
    # acme and twin were generated from one seed: every id twice, once per tenant
    assert tenants.working(
        "SELECT count(*) FROM (SELECT appointment_id FROM core.appointments "
        "WHERE tenant_id IN ('acme', 'twin') GROUP BY 1 HAVING count(*) = 2)"
    ) == [(300,)]
    assert (
        dict(tenants.published("SELECT tenant_id, count(*) FROM core.appointments GROUP BY 1"))
        == truth
    )
    assert dict(tenants.published("SELECT tenant_id, count(*) FROM core.users GROUP BY 1")) == {
        "acme": 3,
        "twin": 3,
        "small": 2,
    }
    # one sync record and one sync state per tenant
    assert sorted(tenants.working("SELECT tenant_id, appointments_live FROM raw.sync_runs")) == [
        ("acme", 300),
        ("small", 120),
        ("twin", 300),
    ]
    assert sorted(
        tenants.working(
            "SELECT tenant_id FROM raw.sync_state WHERE state_key = 'last_full_sweep_at'"
        )
    ) == [("acme",), ("small",), ("twin",)]
    # billing per tenant, each against its own plan
    plans = tenants.published(
        "SELECT tenant_id, plan_included_bookings, plan_price_per_booking FROM "
        "analytics.tenant_plans ORDER BY 1"
    )
    assert [(t, n, float(p)) for t, n, p in plans] == [
        ("acme", 1000, 0.5),
        ("small", 1000, 0.5),
        ("twin", 2000, 0.25),
    ]
    usage = tenants.published(
        "SELECT tenant_id, sum(metered_bookings), max(plan_included_bookings) "
        "FROM analytics.usage_by_tenant_monthly GROUP BY 1 ORDER BY 1"
    )
    metered = dict(
        tenants.published("SELECT tenant_id, count(*) FROM analytics.metered_bookings GROUP BY 1")
    )
    assert [(t, int(n), p) for t, n, p in usage] == [
        ("acme", metered.get("acme", 0), 1000),
        ("small", metered.get("small", 0), 1000),
        ("twin", metered.get("twin", 0), 2000),
    ]
    # each key drew from its own rate budget: one state file per key
    assert len(list((tmp_path / "api_budget").glob("rate-budget-*.json"))) == 3


def test_a_refused_key_fails_only_its_tenant_and_the_others_are_published(
    tenants: Tenants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_MEETERGO_API_KEY", REFUSED_KEY)
    with DagsterInstance.local_temp(str(dagster_home(tmp_path))) as instance:
        result = sync_all(instance)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        message = failure.step_failure_data.error.message  # type: ignore[union-attr]
        assert "1 of 3 tenants failed: tenant twin" in message
        assert "401" in message
        assert REFUSED_KEY not in message
        assert instance.get_materialized_partitions(AssetKey(["raw", "users"])) == {
            "acme",
            "small",
        }
        # the rebuild sensor asks for the webhook refresh job (core, analytics, snapshot)
        sensor = build_definitions().get_sensor_def("meetergo_partial_sync_rebuild")
        run_failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=run_failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        request = sensor(context)  # type: ignore[operator]
        assert isinstance(request, RunRequest)
        assert request.run_key == f"rebuild-after-{result.run_id}"
        assert synced_some_tenants(result.run_id, instance)
    assert dict(tenants.working("SELECT tenant_id, count(*) FROM raw.users GROUP BY 1")) == {
        "acme": 3,
        "small": 2,
    }


def test_sync_command_reports_the_failed_tenant_and_publishes_the_rest(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWIN_MEETERGO_API_KEY", REFUSED_KEY)
    assert main(["sync", "--mode", "full"]) == 1
    out = capsys.readouterr().out
    assert "sync FAILED" in out
    assert "tenants synced: acme, small" in out
    assert "tenant twin: TWIN_MEETERGO_API_KEY was refused by the API (401" in out
    assert "rebuilt core, analytics and the snapshot" in out
    assert dict(
        tenants.published("SELECT tenant_id, count(*) FROM core.appointments GROUP BY 1")
    ) == {"acme": 300, "small": 120}
    assert REFUSED_KEY not in out


def test_sync_one_tenant_and_an_unknown_tenant(
    tenants: Tenants, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--tenant", "small"]) == 0
    assert "api: mode full sweep, " in capsys.readouterr().out
    assert tenants.working("SELECT DISTINCT tenant_id FROM raw.appointments") == [("small",)]
    assert main(["sync"]) == 0  # small's second run is incremental, the others' first full
    summary = capsys.readouterr().out
    assert "api: mode full sweep, incremental, " in summary
    assert " requests over 3 tenants" in summary
    capsys.readouterr()
    assert main(["sync", "--tenant", "nobody"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --tenant: unknown tenant 'nobody': the tenants are acme, twin, small"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[tenants]\nid = 'a'", "is not valid TOML"),
        (
            '[[tenants]]\nid = "Acme!"\napi_key_env = "K"',
            "tenant Acme!: id must be lower-case letters, digits and _ ([a-z0-9_]+), got 'Acme!'",
        ),
        (
            '[[tenants]]\nid = "a"\napi_key_env = "K"\n[[tenants]]\nid = "a"\napi_key_env = "L"',
            "tenant a: the id is used twice; ids must be unique",
        ),
        (
            '[[tenants]]\nid = "a"\napi_key_env = "K"\napi_key = "secret"',
            "tenant a: unknown key 'api_key' (allowed: id, api_key_env, base_url",
        ),
        ('[[tenants]]\nid = "a"', "tenant a: api_key_env must name the environment variable"),
        (
            '[[tenants]]\nid = "a"\napi_key_env = "K"\nplan_included_bookings = -1',
            "tenant a: plan_included_bookings must be a whole number >= 0, got -1",
        ),
        ('tenants = "none"', "must hold one or more [[tenants]] tables and nothing else"),
    ],
)
def test_a_bad_tenants_file_is_one_line_naming_the_file_and_tenant(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(text)
    environ = {"MEETERGO_TENANTS_FILE": str(path), "MEETERGO_API_BUDGET_DIR": str(tmp_path)}
    with pytest.raises(TenantsError) as raised:
        load_tenants(Settings.from_env(environ), environ)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(f"MEETERGO_TENANTS_FILE={path}")
    assert expected in raised.value.problems[0]
    problems = [
        f.text
        for f in failures(
            check_for_sync(
                {
                    **environ,
                    "MEETERGO_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
                    "MEETERGO_SNAPSHOT_PATH": str(tmp_path / "s.duckdb"),
                }
            )
        )
    ]
    assert problems == raised.value.problems


def test_a_missing_key_variable_fails_the_preflight_naming_tenant_and_variable(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SMALL_MEETERGO_API_KEY")
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: tenant small: SMALL_MEETERGO_API_KEY is not set: set it to the tenant's "
        "meetergo API key"
    ]
    assert not tenants.duckdb_path.exists()


def test_check_probes_every_tenant_key_and_names_its_variable(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWIN_MEETERGO_API_KEY", REFUSED_KEY)
    assert main(["check"]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "tenant acme: ACME_MEETERGO_API_KEY: accepted by" in text
    assert "tenant small: SMALL_MEETERGO_API_KEY: accepted by" in text
    assert "tenant twin: TWIN_MEETERGO_API_KEY was refused by the API (401" in text
    assert REFUSED_KEY not in text


def test_deliveries_to_a_tenant_url_are_that_tenants_events(tmp_path: Path) -> None:
    body = json.dumps(
        {
            "webhookType": "booking_cancelled",
            "id": "apt-1",
            "start": "2026-03-02T10:00:00Z",
            "cancel": {"actionAt": "2026-03-01T10:00:00Z"},
        }
    ).encode()
    app = create_receiver_app(TOKEN, tmp_path)

    async def post(path: str) -> int:
        sent: list[dict] = []
        received = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive() -> dict:
            return next(received, {"type": "http.disconnect"})

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "headers": [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
        }
        await app(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(post(f"/webhooks/meetergo/{TOKEN}")) == 200
    assert asyncio.run(post(f"/webhooks/meetergo/{TOKEN}/acme")) == 200
    assert asyncio.run(post(f"/webhooks/meetergo/{TOKEN}/twin")) == 200
    assert asyncio.run(post(f"/webhooks/meetergo/{TOKEN}/Bad-Tenant")) == 404
    assert asyncio.run(post("/webhooks/meetergo/wrong-token/acme")) == 404
    names = sorted(p.name for p in tmp_path.glob("events-*.jsonl"))
    assert sorted(tenant_of_log_file(name) for name in names) == ["acme", "default", "twin"]

    con = connect_writer(tmp_path / "w.duckdb")
    try:
        ingest_webhook_logs(con, tmp_path)
        rows = con.execute(
            "SELECT tenant_id, appointment_id, delivery_count FROM raw.webhook_events ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    # the same body to three URLs: one event per tenant, none collapsed across tenants
    assert rows == [("acme", "apt-1", 1), ("default", "apt-1", 1), ("twin", "apt-1", 1)]
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert event_log_path(tmp_path, day, "acme").name == "events-2026-03-01.acme.jsonl"
    assert event_log_path(tmp_path, day).name == "events-2026-03-01.jsonl"


def test_a_working_file_from_before_tenants_becomes_the_default_tenants(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("CREATE SCHEMA raw")
        old.execute(
            "CREATE TABLE raw.sync_state (state_key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, "
            "updated_at TIMESTAMPTZ NOT NULL)"
        )
        old.execute("INSERT INTO raw.sync_state VALUES ('last_full_sweep_at', '2026-01-01', now())")
        old.execute(
            "CREATE TABLE raw.sync_runs (run_id VARCHAR PRIMARY KEY, mode VARCHAR NOT NULL, "
            "started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, "
            "requests_spent INTEGER NOT NULL, users_seen INTEGER NOT NULL, "
            "meeting_types_seen INTEGER NOT NULL, appointments_seen INTEGER NOT NULL, "
            "api_user_total INTEGER, users_live INTEGER NOT NULL, "
            "appointments_live INTEGER NOT NULL)"
        )
        old.execute(
            "INSERT INTO raw.sync_runs VALUES ('r1', 'full', now(), now(), 5, 1, 1, 1, 1, 1, 1)"
        )
        old.execute(
            "CREATE TABLE raw.users (user_id VARCHAR NOT NULL, payload JSON NOT NULL, "
            "source_updated_at TIMESTAMPTZ, first_seen_at TIMESTAMPTZ NOT NULL, "
            "last_seen_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ)"
        )
        old.execute("INSERT INTO raw.users VALUES ('u1', '{}', NULL, now(), now(), NULL)")
    con = connect_writer(path)
    try:
        assert con.execute("SELECT tenant_id, state_key FROM raw.sync_state").fetchall() == [
            ("default", "last_full_sweep_at")
        ]
        assert con.execute("SELECT tenant_id, run_id FROM raw.sync_runs").fetchall() == [
            ("default", "r1")
        ]
        assert con.execute("SELECT tenant_id, user_id FROM raw.users").fetchall() == [
            ("default", "u1")
        ]
    finally:
        con.close()


def test_both_schedules_sync_every_tenant_in_one_run(tenants: Tenants) -> None:
    definitions = build_definitions()
    for name, mode in (
        ("meetergo_hourly_incremental", "incremental"),
        ("meetergo_daily_full_sweep", "full"),
    ):
        schedule = definitions.get_schedule_def(name)
        requests = schedule.evaluate_tick(build_schedule_context()).run_requests or []
        assert len(requests) == 1
        assert requests[0].partition_key_range == PartitionKeyRange("acme", "small")
        assert requests[0].run_config == sync_config(mode)
    partitions = definitions.resolve_assets_def(AssetKey(["raw", "appointments"])).partitions_def
    assert partitions is not None
    assert partitions.get_partition_keys() == ["acme", "twin", "small"]
