"""`meetergo-pipeline check` and the sync's preflight: every broken dependency is one line.

Against the simulator over loopback and real folders, ports and DuckDB files. One of the
guarantees in docs/reliability.md.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import duckdb
import pytest

from meetergo_pipeline.cli import main
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv

WRONG_KEY = f"ak_live:{uuid.uuid4()}:SENTINELWRONGSECRET"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    """Exit code, stdout lines and stderr lines of one command, run in this process."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_check_on_a_healthy_setup_lists_what_it_checked(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_API_USER_ID", pipeline_env.sim.admin_user_id)
    monkeypatch.setenv("MEETERGO_WEBHOOK_TOKEN", "SENTINEL-token-0123456789")
    duckdb.connect(str(pipeline_env.duckdb_path)).close()
    started = time.monotonic()
    code, out, err = run_cli(capsys, "check", "--receiver-port", str(free_port()))
    elapsed = time.monotonic() - started
    assert (code, err) == (0, [])
    assert elapsed < 20
    assert all(line.startswith("ok: ") for line in out)
    subjects = [line.removeprefix("ok: ").split(":")[0] for line in out]
    for subject in (
        "settings",
        "MEETERGO_API_KEY",
        "MEETERGO_API_USER_ID",
        "MEETERGO_DUCKDB_PATH",
        "MEETERGO_SNAPSHOT_PATH",
        "MEETERGO_WEBHOOK_LOG_DIR",
        "MEETERGO_API_BUDGET_DIR",
        "schedules",
        "receiver",
    ):
        assert subject in subjects
    assert (
        f"ok: MEETERGO_DUCKDB_PATH: {pipeline_env.duckdb_path} is not in use by another process"
        in out
    )
    # One request for the key, one for the acting user; nothing retried.
    assert len(pipeline_env.sim.stats.requests_for("/v4/user/me")) == 2
    assert not list(pipeline_env.root.glob("**/.meetergo-write-probe-*"))


def test_wrong_key_is_one_line_naming_the_variable_never_the_key(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_API_KEY", WRONG_KEY)
    code, out, err = run_cli(capsys, "check")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(
        "error: MEETERGO_API_KEY was refused by the API (401: Invalid API key)"
    )
    assert "SENTINEL" not in "\n".join(out + err)
    assert pipeline_env.sim.stats.total == 1


def test_closed_port_is_one_line_naming_the_url_and_the_variable(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MEETERGO_API_BASE_URL", url)
    started = time.monotonic()
    code, _, err = run_cli(capsys, "check")
    assert time.monotonic() - started < 10
    assert code == 2
    assert err == [
        f"error: cannot connect to {url} (MEETERGO_API_BASE_URL): connection refused (after 1 "
        "attempt); check the URL and that this machine can reach it"
    ]


def test_unknown_acting_user_is_one_line_naming_the_variable(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stranger = str(uuid.uuid4())
    monkeypatch.setenv("MEETERGO_API_USER_ID", stranger)
    code, _, err = run_cli(capsys, "check")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"error: MEETERGO_API_USER_ID={stranger!r} is not a user the key")


def test_warehouse_under_a_file_is_one_line_naming_the_variable_and_path(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A folder that cannot be created, whoever runs the test (root ignores mode bits)."""
    blocker = pipeline_env.root / "not-a-folder"
    blocker.write_text("")
    working = blocker / "meetergo.duckdb"
    monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(working))
    code, _, err = run_cli(capsys, "check")
    assert code == 2
    assert err == [
        f"error: MEETERGO_DUCKDB_PATH={working}: {blocker} is a file, not a folder: point "
        "MEETERGO_DUCKDB_PATH elsewhere"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0500 folder regardless")
def test_read_only_warehouse_folder_is_one_line_naming_the_variable(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = pipeline_env.root / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        monkeypatch.setenv("MEETERGO_DUCKDB_PATH", str(folder / "meetergo.duckdb"))
        code, _, err = run_cli(capsys, "check")
    finally:
        folder.chmod(0o700)
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"error: MEETERGO_DUCKDB_PATH={folder / 'meetergo.duckdb'}: ")
    assert "Permission denied" in err[0]


@pytest.mark.slow
def test_warehouse_held_by_another_process_is_one_line_with_its_pid(
    pipeline_env: PipelineEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    duckdb.connect(str(pipeline_env.duckdb_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(pipeline_env.duckdb_path)!r}); "
            "print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        code, _, err = run_cli(capsys, "check")
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert err == [
        f"error: MEETERGO_DUCKDB_PATH={pipeline_env.duckdb_path} is in use by another process "
        f"(PID {holder.pid}): wait for it or stop it; analysts should open the snapshot "
        "(MEETERGO_SNAPSHOT_PATH) instead"
    ]


def test_bad_cron_is_one_line_naming_the_variable(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_SYNC_CRON", "61 * * * *")
    code, _, err = run_cli(capsys, "check")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("error: MEETERGO_SYNC_CRON must be a cron expression of five fields")
    assert err[0].endswith("got '61 * * * *'")
    assert pipeline_env.sim.stats.total == 0


def test_bad_schedule_time_zone_is_one_line_naming_the_variable(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_SCHEDULE_TIMEZONE", "Mars/Olympus_Mons")
    code, _, err = run_cli(capsys, "check")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("error: MEETERGO_SCHEDULE_TIMEZONE='Mars/Olympus_Mons' is not")


def test_receiver_port_in_use_is_one_line_naming_the_port_and_the_option(
    pipeline_env: PipelineEnv,
    listening_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_WEBHOOK_TOKEN", "SENTINEL-token-0123456789")
    code, _, err = run_cli(capsys, "check", "--receiver-port", str(listening_port))
    assert code == 2
    assert err == [
        f"error: port {listening_port} on 127.0.0.1 is in use: stop what holds it or choose "
        "another with --receiver-port"
    ]
    code, _, err = run_cli(capsys, "webhooks", "serve", "--port", str(listening_port))
    assert code == 2
    assert err == [
        f"error: port {listening_port} on 127.0.0.1 is in use: stop what holds it or choose "
        "another with --port"
    ]


def test_sync_with_a_wrong_key_stops_at_the_preflight_in_one_line(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEETERGO_API_KEY", WRONG_KEY)
    monkeypatch.setenv("MEETERGO_STEP_RETRIES", "2")
    started = time.monotonic()
    code, out, err = run_cli(capsys, "sync")
    assert time.monotonic() - started < 30
    assert code == 2
    assert out == []
    assert len(err) == 1 and err[0].startswith("error: MEETERGO_API_KEY was refused by the API")
    assert "SENTINEL" not in err[0]
    assert pipeline_env.sim.stats.total == 1
    assert not pipeline_env.duckdb_path.exists()


def test_a_failed_step_is_one_summary_line_without_tracebacks(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Past the preflight, the user listing keeps failing: the summary names the step once."""
    from meetergo_pipeline.client import http

    monkeypatch.setattr(http, "backoff_seconds", lambda attempt: 0.0)
    pipeline_env.sim.faults.add("/v4/user", method="GET", times=None, status=503)
    code, out, err = run_cli(capsys, "sync", "--mode", "full")
    assert code == 1
    assert "sync FAILED" in "\n".join(out)
    assert [line for line in out if line.startswith("  raw_api_tables:")] == [
        "  raw_api_tables: GET /v4/user failed with 503: Service Unavailable"
    ]
    logged = "\n".join(err)
    assert "Traceback" not in logged and "Stack Trace" not in logged
    assert "users:" not in logged
