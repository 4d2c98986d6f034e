"""The analysts' snapshot: a data contract without personal data, built under the writer's lock.

One simulated tenant (plus webhook deliveries carrying whole appointments, and one booking
known only from a webhook) is synced through the real Dagster job once per module; the tests
read its snapshot, and publish copies of its working file again where they need to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meetergo_pipeline.cli import main
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.sql import sql_literal
from meetergo_pipeline.transform import build_core
from meetergo_pipeline.warehouse import publish
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.warehouse.pseudonym import PSEUDONYM_KEY_FILE, pseudonym_key
from meetergo_pipeline.warehouse.publish import (
    define_attendee_pseudonym,
    drop_attendee_pseudonym,
    publish_snapshot,
    published_tables,
)
from meetergo_pipeline.warehouse.snapshot_shell import snapshot_shell_command
from meetergo_pipeline.webhooks.log import delivery_line
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync

SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"
BOOKKEEPING = {"sync_state", "sync_runs", "webhook_log_cursor"}
LONG_KEY = b"k" * 100  # longer than SHA-256's block: HMAC hashes it first


@dataclass
class Synced:
    """A pipeline installation after one full sync, and the simulator's ground truth."""

    env: PipelineEnv
    bodies: list[dict[str, Any]]  # every appointment the API served, plus the webhook-only one
    hosts: list[dict[str, Any]]

    @property
    def working(self) -> Path:
        return self.env.duckdb_path

    @property
    def snapshot(self) -> Path:
        return self.env.snapshot_path

    def copy_working_file(self, target: Path) -> Path:
        shutil.copyfile(self.working, target)
        return target


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    config = SimulatorConfig(seed=23, users=5, appointments=700, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        env = PipelineEnv(sim, tmp_path_factory.mktemp("synced"))
        for name, value in env.variables().items():
            monkeypatch.setenv(name, value)
        for name in ("MEETERGO_PSEUDONYM_KEY", "MEETERGO_SNAPSHOT_MODE"):
            monkeypatch.delenv(name, raising=False)
        bodies = list(sim.tenant.appointments.values())
        webhook_only = webhook_only_booking(bodies[0])
        write_webhook_log(env.webhook_dir, [*bodies[:40], webhook_only])
        result = run_sync("full")
        assert result.success
        yield Synced(env, [*bodies, webhook_only], sim.tenant.users)


def webhook_only_booking(template: dict[str, Any]) -> dict[str, Any]:
    """A booking the API has not shown yet, with attendees nobody else has."""
    tag = uuid.uuid4().hex[:8]
    attendee = {
        "id": str(uuid.uuid4()),
        "email": f"webhook.only.{tag}@kunde-x.example",
        "firstname": f"Webhookina{tag}",
        "lastname": f"Onlyson{tag}",
        "fullname": f"Webhookina{tag} Onlyson{tag}",
        "phone": f"+49 170 {tag}",
    }
    return {
        **template,
        "id": str(uuid.uuid4()),
        "secret": uuid.uuid4().hex,
        "attendees": [attendee],
        "notes": f"call me back {tag}",
        "meetingInfo": {**template["meetingInfo"], "meetingLink": f"https://meet.example/{tag}"},
    }


def write_webhook_log(log_dir: Path, bodies: Iterable[dict[str, Any]]) -> None:
    """Deliveries as the receiver logs them: live flat bodies carrying the whole appointment."""
    received = datetime.now(UTC)
    lines = [
        delivery_line(received, json.dumps({"webhookType": "booking_created", **body}).encode())
        for body in bodies
    ]
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"events-{received:%Y-%m-%d}.jsonl").write_bytes(b"".join(lines))


def personal_values(synced: Synced) -> dict[str, set[str]]:
    """Every piece of personal data in the tenant's bookings, by kind.

    Hosts are the customer's own employees and are published; an attendee name that is part
    of a host's name or e-mail is therefore left out of the needles.
    """
    found: dict[str, set[str]] = defaultdict(set)
    for body in synced.bodies:
        for attendee in body.get("attendees") or []:
            for field in ("email", "fullname", "firstname", "lastname", "phone"):
                found[f"attendee {field}"].add(attendee.get(field) or "")
        found["secret"].add(body["secret"])
        found["meeting link"].add((body.get("meetingInfo") or {}).get("meetingLink") or "")
        found["meeting link"].add((body.get("hostingInfo") or {}).get("meetingLink") or "")
        found["notes"].add(body.get("notes") or "")
        found["location"].add(body.get("location") or "")
        cancel = body.get("cancel") or {}
        found["cancel reason"].add(cancel.get("reason") or "")
        if "@" in (cancel.get("actionBy") or ""):
            found["cancelled by"].add(cancel["actionBy"])
        found["crm id"].add((body.get("customFields") or {}).get("crmId") or "")
    host_text = [
        str(host.get(field) or "")
        for host in synced.hosts
        for field in ("givenName", "familyName", "fullName", "email")
    ]
    return {
        kind: {v for v in values if v and not any(v in text for text in host_text)}
        for kind, values in found.items()
    }


def scan(database: Path, needles: dict[str, set[str]], tables: list[str] | None = None) -> set:
    """(column, kind, value) for every needle found in any column (cast to text) or comment."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(str(database))} AS scanned (READ_ONLY)")
        pairs = [(kind, value) for kind, values in needles.items() for value in values]
        con.execute(
            "CREATE TEMP TABLE needles AS SELECT unnest(?) AS kind, unnest(?) AS value",
            [[k for k, _ in pairs], [v for _, v in pairs]],
        )
        columns = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = 'scanned'"
        ).fetchall()
        hits: set = set()
        for schema, table, column in columns:
            if tables is not None and f"{schema}.{table}" not in tables:
                continue
            hits |= set(
                con.execute(
                    f'SELECT DISTINCT ?, n.kind, n.value FROM scanned."{schema}"."{table}" AS t '
                    f'JOIN needles AS n ON contains(CAST(t."{column}" AS VARCHAR), n.value)',
                    [f"{schema}.{table}.{column}"],
                ).fetchall()
            )
        hits |= set(
            con.execute(
                "SELECT DISTINCT 'comment', n.kind, n.value FROM ("
                "SELECT comment FROM duckdb_tables() WHERE database_name = 'scanned' UNION ALL "
                "SELECT comment FROM duckdb_columns() WHERE database_name = 'scanned') AS c "
                "JOIN needles AS n ON contains(c.comment, n.value)"
            ).fetchall()
        )
        return hits
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_counts(path: Path) -> dict[str, int]:
    return {t: query(path, f"SELECT count(*) FROM {t}")[0][0] for t in published_tables()}


def test_the_snapshot_holds_the_contract_and_nothing_else(synced: Synced) -> None:
    tables = query(
        synced.snapshot,
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY ALL",
    )
    assert sorted(t for (t,) in tables) == sorted(published_tables())
    assert {t.split(".")[0] for t in published_tables()} == {"core", "analytics"}
    assert not BOOKKEEPING & {t.split(".")[1] for t in published_tables()}
    assert query(synced.snapshot, "SELECT count(*) FROM duckdb_views() WHERE NOT internal") == [
        (0,)
    ]
    assert table_counts(synced.snapshot)["core.appointments"] == len(synced.bodies)
    # every published table and column keeps its documentation
    assert query(
        synced.snapshot,
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND coalesce(comment, '') = ''",
    ) == [(0,)]
    assert query(
        synced.snapshot,
        "SELECT count(*) FROM duckdb_tables() WHERE coalesce(comment, '') = ''",
    ) == [(0,)]
    usage_comment = query(
        synced.snapshot,
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'usage_billing_monthly'",
    )[0][0]
    assert "u.user_type = ''api-platform''" not in usage_comment
    assert "u.user_type = 'api-platform'" in usage_comment


def test_no_personal_data_of_attendees_reaches_the_snapshot(synced: Synced) -> None:
    needles = personal_values(synced)
    assert len(needles["attendee email"]) > 500 and len(needles["secret"]) == len(synced.bodies)
    assert needles["attendee phone"] and needles["meeting link"] and needles["notes"]
    # The same scan finds every one of them in the working file's raw layer ...
    raw = scan(synced.working, needles, ["raw.appointments", "raw.webhook_events"])
    assert {(kind, value) for _, kind, value in raw} == {
        (kind, value) for kind, values in needles.items() for value in values
    }
    # ... and none of them anywhere in the snapshot.
    assert scan(synced.snapshot, needles) == set()


def test_attendees_are_published_as_hmac_pseudonyms(synced: Synced, tmp_path: Path) -> None:
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    snapshot = tmp_path / "s.duckdb"
    con = connect_writer(working)
    try:
        publish_snapshot(con, snapshot, key=LONG_KEY)
    finally:
        con.close()

    def pseudonym(email: str) -> str:
        return hmac.new(LONG_KEY, email.strip().lower().encode(), hashlib.sha256).hexdigest()

    api_bodies = synced.bodies[:-1]  # the webhook-only booking's attendees wait for a sync
    expected = {
        (body["id"], pseudonym(attendee["email"]))
        for body in api_bodies
        for attendee in body["attendees"]
    }
    published = set(query(snapshot, "SELECT * EXCLUDE (tenant_id) FROM core.appointment_attendees"))
    assert published == expected
    repeat_bookers = query(
        snapshot,
        "SELECT count(*) FROM (SELECT attendee_key FROM core.appointment_attendees "
        "GROUP BY ALL HAVING count(*) > 1)",
    )[0][0]
    assert repeat_bookers > 0


@pytest.mark.parametrize(
    "older_shape",
    [
        "ALTER TABLE raw.appointments DROP COLUMN fields",
        "ALTER TABLE raw.appointments ALTER COLUMN fields SET DATA TYPE STRUCT(id VARCHAR) "
        "USING {'id': fields.id}",
    ],
    ids=["no fields column", "fields of another type"],
)
def test_a_working_file_from_before_the_parsed_fields_is_migrated_on_connect(
    synced: Synced, tmp_path: Path, older_shape: str
) -> None:
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    con = connect_writer(working)
    try:
        publish_snapshot(con, tmp_path / "current.duckdb", key=LONG_KEY)
        con.execute(older_shape)  # the working file as an older version left it
    finally:
        con.close()
    con = connect_writer(working)
    try:
        (missing,) = con.execute(
            "SELECT count(*) FILTER (fields IS NULL OR fields.id <> appointment_id) "
            "FROM raw.appointments"
        ).fetchone()  # type: ignore[misc]
        build_core(con)
        publish_snapshot(con, tmp_path / "migrated.duckdb", key=LONG_KEY)
    finally:
        con.close()

    assert missing == 0
    assert table_counts(tmp_path / "migrated.duckdb") == table_counts(tmp_path / "current.duckdb")
    for table in ("core.appointment_attendees", "core.api_appointments"):
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        assert query(tmp_path / "migrated.duckdb", sql) == query(tmp_path / "current.duckdb", sql)


def test_pseudonyms_match_pythons_hmac_for_any_address() -> None:
    addresses = ["  Jörg.Müller@Beispiel.de ", "a@b.c", "ÅSA+tag@例え.jp", "x" * 300 + "@y.z"]
    for key in (b"short key 16 chr", LONG_KEY, "schlüssel-äöü-1234".encode()):
        con = duckdb.connect()
        try:
            define_attendee_pseudonym(con, key)
            got = con.execute(
                "SELECT list(attendee_pseudonym(a) ORDER BY i) "
                "FROM unnest(?) WITH ORDINALITY AS t(a, i)",
                [addresses],
            ).fetchone()[0]
            drop_attendee_pseudonym(con)
            assert con.execute(
                "SELECT count(*) FROM duckdb_variables() WHERE name = 'pseudonym_pads'"
            ).fetchone() == (0,)
        finally:
            con.close()
        want = [
            hmac.new(key, a.strip().lower().encode(), hashlib.sha256).hexdigest() for a in addresses
        ]
        assert got == want


def test_the_default_key_is_kept_owner_only_and_pseudonyms_stay_stable(
    synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = synced.working.parent / PSEUDONYM_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip().encode()
    before = set(
        query(synced.snapshot, "SELECT * EXCLUDE (tenant_id) FROM core.appointment_attendees")
    )
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    shutil.copy2(key_file, tmp_path / PSEUDONYM_KEY_FILE)
    assert pseudonym_key(tmp_path, None) == key
    con = connect_writer(working)
    try:
        publish_snapshot(con, tmp_path / "again.duckdb", key=pseudonym_key(tmp_path, None))
        # the variable, set to the file's text, gives the same pseudonyms
        configured = Settings.from_env({"MEETERGO_PSEUDONYM_KEY": key.decode()}).pseudonym_key
        publish_snapshot(
            con, tmp_path / "from_variable.duckdb", key=pseudonym_key(tmp_path, configured)
        )
    finally:
        con.close()
    with pytest.raises(ValueError, match="MEETERGO_PSEUDONYM_KEY must be at least 16"):
        Settings.from_env({"MEETERGO_PSEUDONYM_KEY": "too-short"})
    for name in ("again.duckdb", "from_variable.duckdb"):
        assert (
            set(
                query(
                    tmp_path / name, "SELECT * EXCLUDE (tenant_id) FROM core.appointment_attendees"
                )
            )
            == before
        )

    fresh = tmp_path / "fresh"
    generated = pseudonym_key(fresh, None)
    assert generated == pseudonym_key(fresh, None) and generated != key
    assert stat.S_IMODE((fresh / PSEUDONYM_KEY_FILE).stat().st_mode) == 0o600


def test_the_duckdb_cli_analysts_install_reads_the_snapshot(synced: Synced) -> None:
    try:
        command = snapshot_shell_command(synced.snapshot, ["SELECT count(*) FROM core.users"])
    except ValueError as missing:
        pytest.skip(f"the DuckDB CLI is not installed here ({missing})")
    cli = command[0]
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v1."), f"expected a DuckDB 1.x CLI, got {version.stdout}"
    completed = subprocess.run(
        [cli, "-readonly", "-list", "-noheader", str(synced.snapshot), "FROM core.users"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == len(synced.hosts)

    # `meetergo-pipeline shell` execs the same CLI, read-only
    env = {**os.environ, "MEETERGO_SNAPSHOT_PATH": str(synced.snapshot)}
    shell = subprocess.run(
        [str(SCRIPT), "shell", "SELECT count(*) AS n FROM core.appointments"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shell.returncode == 0, shell.stderr
    assert f"{len(synced.bodies)}" in shell.stdout
    refused = subprocess.run(
        [str(SCRIPT), "shell", "CREATE TABLE core.scratch (n INTEGER)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "read-only" in refused.stderr + refused.stdout


def test_shell_without_the_cli_says_what_to_install(
    synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(synced.snapshot))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert main(["shell"]) == 2
    assert "pip install duckdb-cli" in capsys.readouterr().err
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(tmp_path / "missing.duckdb"))
    assert main(["shell"]) == 2
    assert "meetergo-pipeline run" in capsys.readouterr().err


PUBLISHER = """
import sys
from pathlib import Path
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.warehouse.connection import connect_writer
from meetergo_pipeline.warehouse.publish import publish_snapshot
working, snapshot, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = connect_writer(working)
for _ in range(times):
    publish_snapshot(con, snapshot, key=b"stress-test-key-0123")
con.close()
"""

READER = """
import json, sys, duckdb
snapshot, tables, stop = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
from pathlib import Path
opened, failures = 0, []
while not Path(stop).exists() or opened == 0:
    try:
        con = duckdb.connect(snapshot, read_only=True)
        try:
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        finally:
            con.close()
        opened += 1
        if counts != tables:
            failures.append(f"incomplete: {counts}")
    except duckdb.Error as error:
        failures.append(str(error))
print(json.dumps({"opened": opened, "failures": failures}))
"""


def test_concurrent_publishes_never_show_readers_a_broken_snapshot(
    synced: Synced, tmp_path: Path
) -> None:
    snapshot, stop = tmp_path / "s.duckdb", tmp_path / "stop"
    shutil.copyfile(synced.snapshot, snapshot)
    expected = json.dumps(table_counts(synced.snapshot))
    python = [sys.executable, "-c"]
    readers = [
        subprocess.Popen(
            [*python, READER, str(snapshot), expected, str(stop)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    publishers = [
        subprocess.Popen(
            [
                *python,
                PUBLISHER,
                str(synced.copy_working_file(tmp_path / f"w{i}.duckdb")),
                str(snapshot),
                "6",
            ]
        )
        for i in range(3)
    ]
    try:
        assert [p.wait(timeout=240) for p in publishers] == [0, 0, 0]
    finally:
        stop.touch()
    reports = [json.loads(r.communicate(timeout=120)[0]) for r in readers]
    assert [r["failures"] for r in reports] == [[], []]
    assert all(r["opened"] > 0 for r in reports)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_publish_leaves_the_previous_snapshot_and_the_connection_clean(
    synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "s.duckdb"
    shutil.copyfile(synced.snapshot, snapshot)
    before = snapshot.read_bytes()
    working = synced.copy_working_file(tmp_path / "w.duckdb")

    def fail_after_the_tables(con: duckdb.DuckDBPyConnection) -> None:
        assert con.execute("SELECT count(*) FROM published.core.appointments").fetchone()[0] > 0
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_copy_comments", fail_after_the_tables)
    con = connect_writer(working)
    try:
        with pytest.raises(OSError, match="No space left"):
            publish_snapshot(con, snapshot, key=LONG_KEY)
        attached = con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        assert ("published",) not in attached
        assert con.execute(
            "SELECT count(*) FROM duckdb_variables() WHERE name = 'pseudonym_pads'"
        ).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM raw.appointments").fetchone()[0] > 0
    finally:
        con.close()
    assert snapshot.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb", "w.duckdb"]


KILLED_MID_BUILD = """
import sys, time
from meetergo_pipeline.warehouse import publish
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.warehouse.connection import connect_writer

def stall(con):
    print("building", flush=True)
    time.sleep(120)

publish._copy_comments = stall
publish.publish_snapshot(connect_writer(sys.argv[1]), sys.argv[2], key=b"0123456789abcdef")
"""


def test_a_publisher_killed_mid_build_leaves_the_previous_snapshot(
    synced: Synced, tmp_path: Path
) -> None:
    snapshot = tmp_path / "s.duckdb"
    shutil.copyfile(synced.snapshot, snapshot)
    before = snapshot.read_bytes()
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_BUILD, str(working), str(snapshot)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "building\n"
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    assert snapshot.read_bytes() == before
    assert table_counts(snapshot) == table_counts(synced.snapshot)
    [abandoned] = [p for p in tmp_path.iterdir() if p.name.endswith(publish.BUILD_SUFFIX)]
    assert stat.S_IMODE(abandoned.stat().st_mode) == 0o700

    con = connect_writer(working)
    try:
        publish_snapshot(con, snapshot, key=LONG_KEY)
    finally:
        con.close()
    assert not abandoned.exists()
    assert table_counts(snapshot) == table_counts(synced.snapshot)


def test_files_are_owner_only_unless_the_mode_is_widened(
    synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stat.S_IMODE(synced.snapshot.stat().st_mode) == 0o600
    assert stat.S_IMODE(synced.working.stat().st_mode) == 0o600
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    group_mode = Settings.from_env({"MEETERGO_SNAPSHOT_MODE": "0640"}).snapshot_mode
    con = connect_writer(working)
    try:
        publish_snapshot(con, tmp_path / "group.duckdb", key=LONG_KEY, mode=group_mode)
    finally:
        con.close()
    assert stat.S_IMODE((tmp_path / "group.duckdb").stat().st_mode) == 0o640
    for bad in ("0666", "0755", "rw-r-----", "0200", "1640"):
        with pytest.raises(ValueError, match="MEETERGO_SNAPSHOT_MODE must be an octal"):
            Settings.from_env({"MEETERGO_SNAPSHOT_MODE": bad})
    assert Settings.from_env({}).snapshot_mode == 0o600
    created = tmp_path / "new" / "working.duckdb"
    connect_writer(created).close()
    assert stat.S_IMODE(created.stat().st_mode) == 0o600


def test_a_reader_keeps_its_view_while_the_snapshot_is_replaced(
    synced: Synced, tmp_path: Path
) -> None:
    snapshot = tmp_path / "s.duckdb"
    working = synced.copy_working_file(tmp_path / "w.duckdb")
    con = connect_writer(working)
    try:
        publish_snapshot(con, snapshot, key=LONG_KEY)
        reader = duckdb.connect(str(snapshot), read_only=True)
        try:
            con.execute("DELETE FROM core.appointments WHERE appointment_id < '8'")
            publish_snapshot(con, snapshot, key=LONG_KEY)
            assert reader.execute("SELECT count(*) FROM core.appointments").fetchone() == (
                len(synced.bodies),
            )
        finally:
            reader.close()
    finally:
        con.close()
    assert 0 < query(snapshot, "SELECT count(*) FROM core.appointments")[0][0] < len(synced.bodies)
