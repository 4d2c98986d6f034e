"""Webhook receiver over real loopback HTTP (uvicorn + httpx), real files, real SIGKILL."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from meetergo_pipeline.settings import Settings
from meetergo_pipeline.webhooks.cli import receiver_token
from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs
from meetergo_pipeline.webhooks.log import event_log_path, utc_now
from meetergo_pipeline.webhooks.receiver import MASKED_PATH, TokenMaskingFilter
from meetergo_pipeline.webhooks.server import ReceiverServer
from meetergo_pipeline_tests.support.raw_rows import open_raw_db
from meetergo_pipeline_tests.support.receiver_log import booking, logged, quarantined


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "webhooks"


@pytest.fixture
def server(token: str, log_dir: Path) -> Iterator[ReceiverServer]:
    with ReceiverServer(token, log_dir) as running:
        yield running


def ingest(log_dir: Path, db_path: Path) -> duckdb.DuckDBPyConnection:
    con = open_raw_db(db_path)
    ingest_webhook_logs(con, log_dir)
    return con


def test_booking_created_is_on_disk_before_the_2xx(server: ReceiverServer, log_dir: Path) -> None:
    response = httpx.post(server.url, json=booking())
    assert response.status_code == 200
    [line] = logged(log_dir)  # read only after the response arrived
    assert line["body"] == booking()
    assert line["received_at"].endswith("+00:00")
    assert event_log_path(log_dir, utc_now()).exists()
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_replayed_delivery_is_one_event_delivered_three_times(
    server: ReceiverServer, log_dir: Path, tmp_path: Path
) -> None:
    for _ in range(3):
        assert httpx.post(server.url, json=booking()).status_code == 200
    assert len(logged(log_dir)) == 3
    con = ingest(log_dir, tmp_path / "w.duckdb")
    rows = con.execute(
        "SELECT appointment_id, delivery_count, received_at = "
        "(SELECT min(received_at) FROM raw.webhook_events) FROM raw.webhook_events"
    ).fetchall()
    assert rows == [("apt-1", 3, True)]


def test_cancel_before_create_both_kept_and_legacy_and_unknown_accepted(
    server: ReceiverServer, log_dir: Path, tmp_path: Path
) -> None:
    cancelled = booking(
        "booking_cancelled", isCancelled=True, cancel={"actionAt": "2025-02-21T09:00:00Z"}
    )
    legacy = {
        "event": "booking_rescheduled",
        "timestamp": "2025-02-22T12:00:00+02:00",
        "data": {"appointmentId": "apt-2", "start": "2025-03-02T10:00:00Z"},
    }
    review = {"webhookType": "review_submitted", "rating": 5}
    for body in (cancelled, booking(), legacy, review):
        assert httpx.post(server.url, json=body).status_code == 200
    con = ingest(log_dir, tmp_path / "w.duckdb")
    rows = con.execute(
        "SELECT event_type, appointment_id, occurred_at::VARCHAR, delivery_count "
        "FROM raw.webhook_events ORDER BY occurred_at"
    ).fetchall()
    assert [r[:2] for r in rows] == [
        ("booking_created", "apt-1"),
        ("booking_cancelled", "apt-1"),
        ("booking_rescheduled", "apt-2"),
        ("review_submitted", None),
    ]
    assert rows[2][2].startswith("2025-02-22 10:00:00")  # +02:00 → UTC


def test_wrong_token_stores_nothing_and_no_log_line_shows_a_token(
    server: ReceiverServer,
    token: str,
    log_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert (
        httpx.post(f"{server.base_url}/webhooks/meetergo/{near_miss}", json=booking()).status_code
        == 404
    )
    assert httpx.post(f"{server.base_url}/webhooks/meetergo/", json=booking()).status_code == 404
    assert httpx.post(f"{server.base_url}/webhooks/meetergo", json=booking()).status_code == 404
    assert not log_dir.exists() or not any(log_dir.rglob("*.jsonl"))
    assert httpx.post(server.url, json=booking()).status_code == 200
    # httpx logs the URL it requests: that is the sender's log, not the receiver's.
    receiver_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    receiver_text = "\n".join(r.getMessage() for r in receiver_records)
    captured = receiver_text + "".join(capfd.readouterr())
    assert MASKED_PATH in receiver_text
    assert token not in captured and near_miss not in captured


def test_masking_filter_rewrites_a_uvicorn_style_access_record(token: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/webhooks/meetergo/{token}", "1.1", 200),
        None,
    )
    TokenMaskingFilter().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "POST {MASKED_PATH} HTTP/1.1" 200'


def test_oversize_body_is_413_and_never_stored(server: ReceiverServer, log_dir: Path) -> None:
    big = json.dumps(booking(notes="x" * 300_000)).encode()
    assert httpx.post(server.url, content=big).status_code == 413

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for start in range(0, len(big), 64_000):
            yield big[start : start + 64_000]

    assert httpx.post(server.url, content=chunked()).status_code == 413
    assert logged(log_dir) == [] and quarantined(log_dir) == []


def test_malformed_json_is_400_quarantined_and_next_delivery_ok(
    server: ReceiverServer, log_dir: Path
) -> None:
    raw = b'{"webhookType": "booking_created", "id": "apt-1",'
    assert httpx.post(server.url, content=raw).status_code == 400
    assert httpx.post(server.url, content=b"[1, 2]").status_code == 400
    assert httpx.post(server.url, json=booking()).status_code == 200
    first, second = quarantined(log_dir)
    assert base64.b64decode(first["raw_base64"]) == raw and "malformed" in first["reason"]
    assert "not an object" in second["reason"]
    assert [line["body"]["id"] for line in logged(log_dir)] == ["apt-1"]


def test_bodies_the_ingest_cannot_read_alike_are_400_and_quarantined(
    server: ReceiverServer, log_dir: Path
) -> None:
    """A lone surrogate escape and nesting past the parser's limit: refused, not a 500."""
    lone_surrogate = b'{"webhookType": "booking_created", "id": "apt-s", "notes": "\\ud800"}'
    deep = b'{"webhookType": "x", "n": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    pair = b'{"webhookType": "booking_created", "id": "apt-p", "notes": "\\ud83d\\ude00"}'
    assert httpx.post(server.url, content=lone_surrogate).status_code == 400
    assert httpx.post(server.url, content=deep).status_code == 400
    assert httpx.post(server.url, content=pair).status_code == 200
    reasons = [record["reason"] for record in quarantined(log_dir)]
    assert reasons == ["malformed JSON: UnicodeEncodeError", "malformed JSON: RecursionError"]
    assert [line["body"]["id"] for line in logged(log_dir)] == ["apt-p"]


def test_booking_without_id_is_2xx_and_quarantined(server: ReceiverServer, log_dir: Path) -> None:
    body = {"webhookType": "booking_created", "start": "2025-03-01T10:00:00Z"}
    response = httpx.post(server.url, json=body)
    assert response.status_code == 202
    [record] = quarantined(log_dir)
    assert json.loads(base64.b64decode(record["raw_base64"])) == body
    assert logged(log_dir) == []


def test_storage_failure_is_503_then_the_retry_is_stored(
    server: ReceiverServer, log_dir: Path
) -> None:
    blocker = event_log_path(log_dir, utc_now())
    blocker.mkdir(parents=True)  # the day's log path is unusable: open() fails
    assert httpx.post(server.url, json=booking()).status_code == 503
    blocker.rmdir()
    assert httpx.post(server.url, json=booking()).status_code == 200
    assert len(logged(log_dir)) == 1


def test_200_concurrent_deliveries_are_all_stored(
    server: ReceiverServer, log_dir: Path, tmp_path: Path
) -> None:
    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(server.url, json=booking(appointment_id=f"apt-{i}"))
                    for i in range(200)
                )
            )
        return [r.status_code for r in responses]

    assert asyncio.run(send_all()) == [200] * 200
    assert len(logged(log_dir)) == 200
    con = ingest(log_dir, tmp_path / "w.duckdb")
    assert con.execute(
        "SELECT count(DISTINCT appointment_id) FROM raw.webhook_events"
    ).fetchone() == (200,)


@pytest.mark.slow
def test_sigkill_loses_nothing_that_was_acknowledged(token: str, log_dir: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meetergo_pipeline.webhooks",
            "serve",
            "--port",
            "0",
            "--log-dir",
            str(log_dir),
        ],
        env={**os.environ, "MEETERGO_WEBHOOK_TOKEN": token},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _wait_for_port(process)
        url = f"http://127.0.0.1:{port}/webhooks/meetergo/{token}"
        acknowledged: list[str] = []
        with httpx.Client() as client:
            for i in range(20):  # sequential: every one acknowledged before the kill
                assert client.post(url, json=booking(appointment_id=f"seq-{i}")).status_code == 200
                acknowledged.append(f"seq-{i}")
        in_flight = threading.Thread(target=_keep_sending, args=(url, acknowledged))
        in_flight.start()
        while len(acknowledged) < 40:
            threading.Event().wait(0.005)
        process.send_signal(signal.SIGKILL)
        in_flight.join(timeout=30)
    finally:
        process.kill()
        process.wait()
    stored = {line["body"]["id"] for line in logged(log_dir)}
    assert len(acknowledged) >= 40
    assert set(acknowledged) <= stored


def test_cli_names_the_missing_token_variable_without_a_value() -> None:
    with pytest.raises(ValueError, match="MEETERGO_WEBHOOK_TOKEN is not set"):
        receiver_token(Settings.from_env({}))
    with pytest.raises(ValueError, match="MEETERGO_WEBHOOK_TOKEN must be at least 16") as short:
        Settings.from_env({"MEETERGO_WEBHOOK_TOKEN": "s3cr3t"})
    assert "s3cr3t" not in str(short.value)


def _keep_sending(url: str, acknowledged: list[str]) -> None:
    """Send concurrently until the receiver dies; record what it acknowledged."""

    async def sender(worker: int, client: httpx.AsyncClient) -> None:
        for i in range(10_000):
            delivery_id = f"live-{worker}-{i}"
            try:
                response = await client.post(url, json=booking(appointment_id=delivery_id))
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                acknowledged.append(delivery_id)

    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await asyncio.gather(*(sender(worker, client) for worker in range(8)))

    asyncio.run(main())


def _wait_for_port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on http://[^:]+:(\d+)", line)
        if found:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return int(found.group(1))
    raise AssertionError(f"receiver exited with {process.wait()} before listening")
