"""Replicated receivers sharing the PostgreSQL inbox (MEETERGO_WEBHOOK_INBOX_URL), on a real
PostgreSQL over loopback: receivers as child processes killed with real signals, the ingest
into real DuckDB files, the raw asset through Dagster."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import httpx
import pytest
from dagster import DagsterInstance

from meetergo_pipeline.definitions import build_definitions
from meetergo_pipeline.defs.jobs import SYNC_JOB, sync_config
from meetergo_pipeline.settings import Settings, SettingsError
from meetergo_pipeline.webhooks import inbox_ingest
from meetergo_pipeline.webhooks.inbox import connect_inbox
from meetergo_pipeline.webhooks.inbox_ingest import ingest_webhook_inbox
from meetergo_pipeline.webhooks.ingest import BatchLoader
from meetergo_pipeline.webhooks.server import ReceiverServer
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv
from meetergo_pipeline_tests.support.postgres import PostgresServer, free_port
from meetergo_pipeline_tests.support.raw_rows import open_raw_db
from meetergo_pipeline_tests.support.receiver_log import booking

PASSWORD = "SENTINEL-inbox-password"  # trust authentication ignores it; no output may show it
INBOX_VARIABLE = "MEETERGO_WEBHOOK_INBOX_URL"


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def inbox_db(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for the inbox."""
    name = f"inbox_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    return name


@pytest.fixture
def inbox_url(postgres_server: PostgresServer, inbox_db: str) -> str:
    return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{postgres_server.port}/{inbox_db}"


def pg_rows(server: PostgresServer, database: str, sql: str) -> list[tuple]:
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def inbox_counts(server: PostgresServer, database: str) -> dict[str, int]:
    """Appointment id -> rows in the inbox holding a delivery of it."""
    sql = (
        "SELECT convert_from(body, 'UTF8')::json->>'id', count(*) "
        "FROM meetergo_webhook_inbox GROUP BY 1"
    )
    return dict(pg_rows(server, database, sql))


def warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    return open_raw_db(path)


def event_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Appointment id -> delivery_count in raw.webhook_events."""
    sql = "SELECT appointment_id, delivery_count FROM raw.webhook_events"
    return dict(con.execute(sql).fetchall())


def wait_for_no_writing_transactions(server: PostgresServer, timeout_s: float = 30) -> None:
    """Until no session holds a transaction id (a killed receiver's backend has gone)."""
    deadline = time.monotonic() + timeout_s
    sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
    while pg_rows(server, "postgres", sql) != [(0,)]:
        assert time.monotonic() < deadline, "a transaction stayed open"
        time.sleep(0.05)


class ReceiverProcess:
    """`meetergo-pipeline webhooks serve --port 0` as a child; its stderr is kept."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "meetergo_pipeline.cli", "webhooks", "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", "0"], env=env, stderr=subprocess.PIPE, text=True
        )
        self.stderr: list[str] = []
        self.port = self._wait_for_port()
        threading.Thread(target=self._drain, daemon=True).start()

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/meetergo/{token}"

    def output(self) -> str:
        return "".join(self.stderr)

    def _wait_for_port(self) -> int:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            found = re.search(r"listening on http://[^:]+:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError(f"receiver exited with {self.process.wait()}: {self.output()}")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)


def receiver_env(token: str, inbox_url: str, log_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MEETERGO_WEBHOOK_TOKEN": token,
        INBOX_VARIABLE: inbox_url,
        "MEETERGO_WEBHOOK_LOG_DIR": str(log_dir),
    }


def test_the_inbox_url_is_a_secret_checked_when_settings_are_read() -> None:
    assert Settings.from_env({}).webhook_inbox_url is None
    sqlalchemy_style = f"postgresql+psycopg2://meetergo:{PASSWORD}@db/inbox"
    with pytest.raises(SettingsError, match=f"{INBOX_VARIABLE} must be a PostgreSQL") as bad:
        Settings.from_env({INBOX_VARIABLE: sqlalchemy_style})
    assert "+psycopg2" in str(bad.value) and PASSWORD not in str(bad.value)
    url = f"postgresql://meetergo:{PASSWORD}@db:5432/inbox"
    settings = Settings.from_env({INBOX_VARIABLE: url})
    assert settings.webhook_inbox_url == url
    listing = settings.listing({INBOX_VARIABLE: url})
    assert f"{INBOX_VARIABLE}" in listing and "(set, not shown)" in listing
    assert PASSWORD not in listing and PASSWORD not in repr(settings)


@pytest.mark.slow
def test_each_delivery_is_committed_before_its_2xx_and_refusals_go_to_the_inbox_quarantine(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, token: str, tmp_path: Path
) -> None:
    log_dir = tmp_path / "webhooks"
    with ReceiverServer(token, log_dir, inbox_url=inbox_url) as server, httpx.Client() as client:
        body = json.dumps(booking(appointment_id="apt-1"), separators=(",", ":")).encode()
        assert client.post(server.url, content=body).status_code == 200
        # read through another session right after the answer: committed, byte for byte
        [(stored,)] = pg_rows(postgres_server, inbox_db, "SELECT body FROM meetergo_webhook_inbox")
        assert bytes(stored) == body
        assert client.post(server.url, content=b"{not json").status_code == 400
        no_id = json.dumps(booking(appointment_id="")).encode()
        assert client.post(server.url, content=no_id).status_code == 202
    quarantine = pg_rows(
        postgres_server,
        inbox_db,
        "SELECT reason, size, raw FROM meetergo_webhook_inbox_quarantine ORDER BY id",
    )
    assert [(reason, size) for reason, size, _ in quarantine] == [
        ("malformed JSON: JSONDecodeError", 9),
        ("booking_created without an appointment id", len(no_id)),
    ]
    assert bytes(quarantine[0][2]) == b"{not json"
    assert pg_rows(postgres_server, inbox_db, "SELECT count(*) FROM meetergo_webhook_inbox") == [
        (1,)
    ]
    assert not log_dir.exists()  # nothing went to the local log or its quarantine


@pytest.mark.slow
def test_postgres_unreachable_is_503_and_nothing_is_acknowledged(
    token: str, tmp_path: Path
) -> None:
    closed = f"postgresql://meetergo:{PASSWORD}@127.0.0.1:{free_port()}/inbox"
    log_dir = tmp_path / "webhooks"
    receiver = ReceiverProcess(receiver_env(token, closed, log_dir))
    try:
        with httpx.Client() as client:
            answers = [
                client.post(receiver.url(token), json=booking(appointment_id=f"apt-{i}"))
                for i in range(3)
            ]
            health = client.get(f"http://127.0.0.1:{receiver.port}/healthz")
    finally:
        receiver.process.send_signal(signal.SIGTERM)
        assert receiver.process.wait(timeout=30) == 0
    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert all(answer.json() == {"status": "storage unavailable"} for answer in answers)
    assert health.status_code == 200  # alive: the load balancer keeps it, the sender retries
    assert not log_dir.exists()  # no fallback to a local file that no other replica reads
    output = receiver.output()
    assert "cannot connect to the webhook inbox at 127.0.0.1:" in output
    assert PASSWORD not in output and "meetergo:" not in output


@pytest.mark.slow
def test_a_connection_the_server_ended_is_replaced_without_failing_a_delivery(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, token: str, tmp_path: Path
) -> None:
    with ReceiverServer(token, tmp_path / "webhooks", inbox_url=inbox_url) as server:
        assert httpx.post(server.url, json=booking(appointment_id="before")).status_code == 200
        ended = pg_rows(
            postgres_server,
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'meetergo-webhook-receiver'",
        )
        assert ended == [(True,)]
        assert httpx.post(server.url, json=booking(appointment_id="after")).status_code == 200
    assert inbox_counts(postgres_server, inbox_db) == {"before": 1, "after": 1}


@pytest.mark.slow
def test_a_row_committed_after_a_higher_id_was_committed_is_ingested_exactly_once(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, tmp_path: Path
) -> None:
    connect_inbox(inbox_url, "test").close()  # the tables, as a receiver creates them
    insert = (
        "INSERT INTO meetergo_webhook_inbox (received_at, body) VALUES (now(), %s) RETURNING id"
    )
    first, second = postgres_server.connect(inbox_db), postgres_server.connect(inbox_db)
    con = warehouse(tmp_path / "w.duckdb")
    try:
        with first.cursor() as cur:  # stays open: gets the lower id, commits last
            cur.execute(insert, [json.dumps(booking(appointment_id="slow")).encode()])
            (slow_id,) = cur.fetchone()
        with second.cursor() as cur:
            cur.execute(insert, [json.dumps(booking(appointment_id="fast")).encode()])
            (fast_id,) = cur.fetchone()
        second.commit()
        assert slow_id < fast_id  # an id cursor at fast_id would now skip the slow row
        held = ingest_webhook_inbox(con, inbox_url)
        first.commit()
        both = ingest_webhook_inbox(con, inbox_url)
        again = ingest_webhook_inbox(con, inbox_url)
    finally:
        first.close()
        second.close()
    assert event_counts(con) == {"slow": 1, "fast": 1}
    assert held.new_events == 0  # the fast row waited behind the open transaction
    assert (both.new_events, both.duplicates) == (2, 0)
    assert (again.lines_read, again.new_events) == (0, 0)
    assert con.execute("SELECT DISTINCT source_file FROM raw.webhook_events").fetchall() == [
        ("meetergo_webhook_inbox",)
    ]


def use_up_transaction_ids_until(server: PostgresServer, database: str, next_xid: int) -> None:
    """Make ``next_xid`` the next transaction id the server assigns: each write in its own
    subtransaction takes one, then all of it is rolled back."""
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
            (current,) = cur.fetchone()  # type: ignore[misc]
            cur.execute("CREATE TEMP TABLE used_up (n integer)")  # takes one id itself
            cur.execute(
                "DO $$ BEGIN FOR i IN 1..%s LOOP "
                "BEGIN INSERT INTO used_up VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END; "
                "END LOOP; END $$",
                [next_xid - int(current) - 1],
            )
        con.rollback()
    finally:
        con.close()


@pytest.mark.slow
def test_rows_whose_transaction_ids_gain_a_digit_are_read_in_order_and_once(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, token: str, tmp_path: Path
) -> None:
    [(next_xid,)] = pg_rows(
        postgres_server, inbox_db, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
    )
    boundary = 10 ** len(next_xid)  # the next id with one digit more (9998, 9999 | 10000)
    if boundary - int(next_xid) < 20:
        boundary *= 10
    con = warehouse(tmp_path / "w.duckdb")
    with ReceiverServer(token, tmp_path / "webhooks", inbox_url=inbox_url) as server:
        use_up_transaction_ids_until(postgres_server, inbox_db, boundary - 3)
        for i in range(6):  # one transaction each: they straddle the boundary
            assert httpx.post(server.url, json=booking(appointment_id=f"x-{i}")).status_code == 200
    [(lowest, highest)] = pg_rows(
        postgres_server,
        inbox_db,
        "SELECT min(xid)::text, max(xid)::text FROM meetergo_webhook_inbox",
    )
    assert int(lowest) < boundary <= int(highest)
    first = ingest_webhook_inbox(con, inbox_url)
    again = ingest_webhook_inbox(con, inbox_url)
    assert first.new_events == 6
    assert (again.lines_read, again.new_events) == (0, 0)  # the cursor is at the highest id
    assert event_counts(con) == {f"x-{i}": 1 for i in range(6)}
    assert con.execute("SELECT last_xid FROM raw.webhook_inbox_cursor").fetchall() == [
        (int(highest),)
    ]


@pytest.mark.slow
def test_a_row_the_ingest_cannot_use_goes_to_the_inbox_quarantine_and_the_rest_is_read(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, tmp_path: Path
) -> None:
    connect_inbox(inbox_url, "test").close()
    con = postgres_server.connect(inbox_db)
    try:
        with con.cursor() as cur:  # written by something other than a receiver
            for body in (b"[1, 2]", json.dumps(booking(appointment_id="ok")).encode()):
                cur.execute(
                    "INSERT INTO meetergo_webhook_inbox (received_at, body) VALUES (now(), %s)",
                    [body],
                )
        con.commit()
    finally:
        con.close()
    warehouse_con = warehouse(tmp_path / "w.duckdb")
    result = ingest_webhook_inbox(warehouse_con, inbox_url)
    assert (result.new_events, result.quarantined) == (1, 1)
    assert event_counts(warehouse_con) == {"ok": 1}
    [(reason, raw)] = pg_rows(
        postgres_server, inbox_db, "SELECT reason, raw FROM meetergo_webhook_inbox_quarantine"
    )
    assert reason == "ingest: inbox row 1: the body is not one JSON object line"
    assert bytes(raw) == b"[1, 2]"
    assert ingest_webhook_inbox(warehouse_con, inbox_url).quarantined == 0  # not twice


@pytest.mark.slow
def test_a_cursor_beyond_the_servers_transaction_ids_is_refused_saying_what_to_do(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, tmp_path: Path
) -> None:
    connect_inbox(inbox_url, "test").close()
    [(inbox_id,)] = pg_rows(
        postgres_server, inbox_db, "SELECT inbox_id::text FROM meetergo_webhook_inbox_identity"
    )
    con = warehouse(tmp_path / "w.duckdb")
    con.execute(  # as left by an inbox whose cluster had used far more transaction ids
        "INSERT INTO raw.webhook_inbox_cursor VALUES (?, 4000000000, 1, now())", [inbox_id]
    )
    with pytest.raises(ValueError, match="beyond any this server has assigned") as refused:
        ingest_webhook_inbox(con, inbox_url)
    assert "SET inbox_id = gen_random_uuid()" in str(refused.value)
    assert PASSWORD not in str(refused.value)
    assert con.execute("SELECT last_xid FROM raw.webhook_inbox_cursor").fetchall() == [
        (4000000000,)
    ]


@pytest.mark.slow
def test_an_ingest_that_fails_half_way_leaves_rows_and_cursor_as_they_were(
    postgres_server: PostgresServer,
    inbox_db: str,
    inbox_url: str,
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = ReceiverServer(token, tmp_path / "webhooks", inbox_url=inbox_url)
    with receiver as server, httpx.Client() as client:
        for i in range(6):
            response = client.post(server.url, json=booking(appointment_id=f"apt-{i}"))
            assert response.status_code == 200
    con = warehouse(tmp_path / "w.duckdb")
    real_load = BatchLoader.load
    loads = []

    def fail_on_the_second_batch(self: BatchLoader, chunk: bytes, where: str):
        loads.append(where)
        if len(loads) == 2:
            raise RuntimeError("disk gone")
        return real_load(self, chunk, where)

    monkeypatch.setattr(inbox_ingest.BatchLoader, "load", fail_on_the_second_batch)
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest_webhook_inbox(con, inbox_url, batch_bytes=1)  # one row per batch
    assert con.execute("SELECT count(*) FROM raw.webhook_events").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.webhook_inbox_cursor").fetchone() == (0,)
    monkeypatch.undo()
    result = ingest_webhook_inbox(con, inbox_url, batch_bytes=1)
    assert result.new_events == 6
    assert event_counts(con) == {f"apt-{i}": 1 for i in range(6)}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_receivers_one_killed_under_load_every_acknowledged_delivery_is_ingested_once(
    postgres_server: PostgresServer, inbox_db: str, inbox_url: str, token: str, tmp_path: Path
) -> None:
    env = receiver_env(token, inbox_url, tmp_path / "webhooks")
    killed, survivor = ReceiverProcess(env), ReceiverProcess(env)
    urls = [killed.url(token), survivor.url(token)]
    acknowledged: dict[str, str] = {}  # delivery id -> url that answered 200
    ingests: list[int] = []
    load_done = threading.Event()

    def ingest_while_loading() -> None:
        con = warehouse(tmp_path / "w.duckdb")
        try:
            while not load_done.is_set():
                ingests.append(ingest_webhook_inbox(con, inbox_url).new_events)
                time.sleep(0.05)
        finally:
            con.close()

    ingester = threading.Thread(target=ingest_while_loading)
    try:
        ingester.start()
        sender = threading.Thread(target=send_through_a_balancer, args=(urls, acknowledged))
        sender.start()
        while len(acknowledged) < 150:
            assert sender.is_alive(), "the senders stopped early"
            time.sleep(0.005)
        killed.process.send_signal(signal.SIGKILL)
        acknowledged_before_the_kill = len(acknowledged)
        sender.join(timeout=120)
        assert not sender.is_alive()
    finally:
        load_done.set()
        ingester.join(timeout=60)
        killed.process.kill()
        survivor.process.send_signal(signal.SIGTERM)
        assert survivor.process.wait(timeout=30) == 0
    assert killed.process.wait() == -signal.SIGKILL
    wait_for_no_writing_transactions(postgres_server)
    con = warehouse(tmp_path / "w.duckdb")
    last = ingest_webhook_inbox(con, inbox_url)
    again = ingest_webhook_inbox(con, inbox_url)

    by_receiver = list(acknowledged.values())
    assert by_receiver.count(urls[0]) > 0 and by_receiver.count(urls[1]) > 0
    assert acknowledged_before_the_kill < SENDERS * PER_SENDER  # the load went on after it
    assert len(ingests) > 3 and sum(ingests) > 0  # ingests ran while deliveries committed
    stored = inbox_counts(postgres_server, inbox_db)
    ingested = event_counts(con)
    assert set(acknowledged) == {f"lb-{w}-{i}" for w in range(SENDERS) for i in range(PER_SENDER)}
    assert set(acknowledged) <= set(ingested)
    assert ingested == stored  # every row once: one event per delivery id, counted per row
    (events,) = con.execute("SELECT count(*) FROM raw.webhook_events").fetchone()  # type: ignore[misc]
    assert events == len(acknowledged)
    assert sum(ingests) + last.new_events == events
    assert (again.lines_read, again.new_events) == (0, 0)
    assert not list((tmp_path / "webhooks").rglob("*.jsonl"))
    for receiver in (killed, survivor):
        assert PASSWORD not in receiver.output()


SENDERS = 8
PER_SENDER = 60


def send_through_a_balancer(urls: list[str], acknowledged: dict[str, str]) -> None:
    """Deliveries spread over the receivers; one that fails is retried on the next one, as
    a load balancer or meetergo's own retry would. Records who acknowledged each."""

    async def sender(worker: int, client: httpx.AsyncClient) -> None:
        for i in range(PER_SENDER):
            delivery_id = f"lb-{worker}-{i}"
            body = booking(appointment_id=delivery_id)
            for attempt in range(4):
                url = urls[(worker + i + attempt) % len(urls)]
                try:
                    response = await client.post(url, json=body)
                except httpx.HTTPError:
                    continue
                if response.status_code == 200:
                    acknowledged[delivery_id] = url
                    break

    async def main() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(sender(worker, client) for worker in range(SENDERS)))

    asyncio.run(main())


@pytest.mark.slow
def test_the_raw_asset_reads_the_inbox_through_dagster_without_showing_its_url(
    pipeline_env: PipelineEnv,
    postgres_server: PostgresServer,
    inbox_url: str,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(INBOX_VARIABLE, inbox_url)
    with ReceiverServer(token, pipeline_env.webhook_dir, inbox_url=inbox_url) as server:
        for appointment_id in ("wh-1", "wh-2"):
            response = httpx.post(server.url, json=booking(appointment_id=appointment_id))
            assert response.status_code == 200
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def(SYNC_JOB)
    result = job.execute_in_process(
        run_config=sync_config("incremental"), instance=instance, raise_on_error=False
    )
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["webhook_log_not_silent"].passed  # the inbox's receipt counts as a delivery
    records = instance.all_logs(result.run_id)
    assert all(PASSWORD not in str(record) and inbox_url not in str(record) for record in records)
    con = duckdb.connect(str(pipeline_env.duckdb_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT appointment_id, delivery_count, source_file FROM raw.webhook_events "
            "ORDER BY appointment_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("wh-1", 1, "meetergo_webhook_inbox"), ("wh-2", 1, "meetergo_webhook_inbox")]
    assert PASSWORD.encode() not in pipeline_env.duckdb_path.read_bytes()
