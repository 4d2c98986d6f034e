"""The receiver under hostile or unlucky conditions: slow and idle clients, a file limit, its
log file deleted or moved, tokens in odd paths, file modes, and stop signals.

Real receivers over loopback (in a thread, or `webhooks serve` in a subprocess), raw sockets
where a client must misbehave, real files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from meetergo_pipeline.settings import Settings, variable
from meetergo_pipeline.webhooks.connections import MAX_HEADER_BYTES
from meetergo_pipeline.webhooks.log import QUARANTINE_DIR, event_log_path, quarantine_path, utc_now
from meetergo_pipeline.webhooks.receiver import (
    MASKED_PATH,
    OTHER_PATH,
    WEBHOOK_PREFIX,
    TokenMaskingFilter,
    create_receiver_app,
)
from meetergo_pipeline.webhooks.server import GRACEFUL_STOP_S, ReceiverServer
from meetergo_pipeline.webhooks.settings import ReceiverLimits
from meetergo_pipeline_tests.support.receiver_log import booking, logged, quarantined

ROOT = Path(__file__).parents[1]
TOKEN_ENV = variable("webhook_token")
HEADER_TIMEOUT_ENV = variable("webhook_header_timeout_s")
BODY_TIMEOUT_ENV = variable("webhook_body_timeout_s")
MAX_CONNECTIONS_ENV = variable("webhook_max_connections")


def receiver_limits_from_env(environ: dict[str, str]) -> ReceiverLimits:
    return ReceiverLimits.from_settings(Settings.from_env(environ))


QUICK = ReceiverLimits(header_timeout_s=0.5, body_timeout_s=0.5, keepalive_s=0.5)


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "webhooks"


class ServeProcess:
    """``webhooks serve`` in a subprocess, after ``prelude`` (Python run first in the child)."""

    def __init__(self, token: str, log_dir: Path, prelude: str = "", **env: str) -> None:
        code = (
            f"{prelude}\nimport sys\nfrom meetergo_pipeline.webhooks.cli import main\n"
            f"sys.exit(main(['serve', '--port', '0', '--log-dir', {str(log_dir)!r}]))\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": str(ROOT), TOKEN_ENV: token, **env},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._drain, daemon=True).start()
        port = int(self.wait_for(r"listening on http://[^:]+:(\d+)").group(1))
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PREFIX}{token}"
        self.address = ("127.0.0.1", port)

    def wait_for(self, pattern: str, timeout: float = 15) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"no {pattern!r} in receiver output:\n{''.join(self.lines)}"
                    )
                self._changed.wait(min(left, 0.1))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()


@contextlib.contextmanager
def serve_process(
    token: str, log_dir: Path, prelude: str = "", **env: str
) -> Iterator[ServeProcess]:
    receiver = ServeProcess(token, log_dir, prelude, **env)
    try:
        yield receiver
    finally:
        receiver.stop()


def connect(address: tuple[str, int], sent: bytes = b"") -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    if sent:
        sock.sendall(sent)
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or resets) the connection, and how long that
    took."""
    started = time.monotonic()
    sock.settimeout(timeout)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def address_of(server: ReceiverServer) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


# --- connections: timeouts and the connection limit ---------------------------------------


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
def test_idle_connections_beyond_the_file_limit_do_not_starve_a_delivery(
    token: str, log_dir: Path, event_loop: str
) -> None:
    file_limit = "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))"
    if event_loop == "asyncio":  # uvicorn falls back to asyncio's own loop without uvloop
        file_limit += "\nimport sys\nsys.modules['uvloop'] = None"
    # Header timeout far beyond the test: only the connection limit can make room.
    env = {HEADER_TIMEOUT_ENV: "120", BODY_TIMEOUT_ENV: "1"}
    with serve_process(token, log_dir, file_limit, **env) as receiver:
        slow_head = post_head(f"{WEBHOOK_PREFIX}{token}", 100) + b'{"webhookType":'
        slow_bodies = [connect(receiver.address, slow_head) for _ in range(5)]
        time.sleep(0.3)  # their headers are read: busy requests now, not idle connections
        idle = [connect(receiver.address) for _ in range(50)]
        slow_headers = [connect(receiver.address, b"POST /webhooks/meetergo/") for _ in range(20)]
        time.sleep(0.5)  # let the receiver accept all of them
        started = time.monotonic()
        response = httpx.post(receiver.url, json=booking(appointment_id="valid"), timeout=10)
        assert response.status_code == 200
        assert time.monotonic() - started < 5
        assert [line["body"]["id"] for line in logged(log_dir)] == ["valid"]
        # The oldest idle connections were closed to make room, not left to exhaust the files.
        closed = 0
        for sock in idle:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed > 0
        for sock in slow_bodies:  # busy, so never evicted: the body timeout ends them
            received, seconds = read_until_closed(sock, timeout=10)
            assert received.startswith(b"HTTP/1.1 408 ") and seconds < 5
        assert receiver.process.poll() is None
        for sock in slow_bodies + idle + slow_headers:
            sock.close()


def test_slow_body_gets_408_and_is_closed_after_the_body_timeout(token: str, log_dir: Path) -> None:
    with ReceiverServer(token, log_dir, limits=QUICK) as server:
        path = f"{WEBHOOK_PREFIX}{token}"
        sock = connect(address_of(server), post_head(path, 100) + b'{"webhookType":')
        received, seconds = read_until_closed(sock, timeout=10)
        assert received.startswith(b"HTTP/1.1 408 ")
        assert 0.4 < seconds < 3
        assert logged(log_dir) == []


def test_trickled_headers_are_closed_after_the_header_timeout(token: str, log_dir: Path) -> None:
    with ReceiverServer(token, log_dir, limits=QUICK) as server:
        sock = connect(address_of(server), b"POST /webhooks/meetergo/")
        sock.settimeout(0.1)
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 5:
            try:
                sock.sendall(b"x")  # one more byte every 0.1 s must not extend the deadline
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:  # reset after the close
                closed = True
        assert closed
        assert 0.4 < time.monotonic() - started < 3


def test_idle_connections_are_closed_fresh_and_after_a_response(token: str, log_dir: Path) -> None:
    with ReceiverServer(token, log_dir, limits=QUICK) as server:
        fresh = connect(address_of(server))
        _, seconds = read_until_closed(fresh, timeout=10)
        assert 0.4 < seconds < 3
        body = b'{"webhookType":"booking_created","id":"kept-alive"}'
        kept = connect(address_of(server), post_head(f"{WEBHOOK_PREFIX}{token}", len(body)) + body)
        received, seconds = read_until_closed(kept, timeout=10)
        assert received.startswith(b"HTTP/1.1 200 ")
        assert 0.4 < seconds < 3  # the keep-alive timeout closed it, not the client
        assert [line["body"]["id"] for line in logged(log_dir)] == ["kept-alive"]


def test_when_every_connection_is_busy_a_new_one_gets_503(token: str, log_dir: Path) -> None:
    limits = ReceiverLimits(body_timeout_s=30, max_connections=2)
    with ReceiverServer(token, log_dir, limits=limits) as server:
        head = post_head(f"{WEBHOOK_PREFIX}{token}", 100)
        busy = [connect(address_of(server), head + b"{") for _ in range(2)]
        time.sleep(0.3)
        received, _ = read_until_closed(connect(address_of(server)), timeout=5)
        assert received.startswith(b"HTTP/1.1 503 ")
        for sock in busy:
            sock.close()
        time.sleep(0.3)
        assert httpx.post(server.url, json=booking()).status_code == 200


def test_endless_request_headers_are_cut_off_at_the_size_limit(token: str, log_dir: Path) -> None:
    with ReceiverServer(token, log_dir, limits=ReceiverLimits(header_timeout_s=60)) as server:
        sock = connect(address_of(server), b"GET /healthz HTTP/1.1\r\nX-Filler: ")
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the receiver closes while we still send
            for _ in range(4 * MAX_HEADER_BYTES // 4096):
                sock.sendall(b"a" * 4096)
        received, _ = read_until_closed(sock, timeout=10)
        assert time.monotonic() - started < 5  # long before the header timeout
        # A 431 (400 from h11's own limit) arrives unless the close reset the connection first.
        assert received == b"" or re.match(rb"HTTP/1.1 4(31|00) ", received)


def test_limits_come_from_the_environment_and_bad_values_name_the_variable() -> None:
    limits = receiver_limits_from_env({HEADER_TIMEOUT_ENV: "2.5", MAX_CONNECTIONS_ENV: "40"})
    assert limits == ReceiverLimits(header_timeout_s=2.5, max_connections=40)
    assert receiver_limits_from_env({}) == ReceiverLimits()
    for name, value in (
        (BODY_TIMEOUT_ENV, "0"),
        (BODY_TIMEOUT_ENV, "soon"),
        (MAX_CONNECTIONS_ENV, "-3"),
    ):
        with pytest.raises(ValueError, match=name):
            receiver_limits_from_env({name: value})


# --- the log file deleted or moved under the receiver -------------------------------------


def test_deleted_or_moved_day_file_is_recreated_and_holds_every_acknowledged_delivery(
    token: str, log_dir: Path
) -> None:
    with ReceiverServer(token, log_dir) as server:
        day_file = event_log_path(log_dir, utc_now())
        assert httpx.post(server.url, json=booking(appointment_id="first")).status_code == 200
        day_file.unlink()
        assert (
            httpx.post(server.url, json=booking(appointment_id="after-delete")).status_code == 200
        )
        assert day_file.read_text().count('"after-delete"') == 1
        moved = log_dir / "archived.jsonl.bak"
        day_file.rename(moved)
        assert httpx.post(server.url, json=booking(appointment_id="after-move")).status_code == 200
        assert '"after-move"' in day_file.read_text()
        assert '"after-move"' not in moved.read_text()

        bad = b"{not json"
        assert httpx.post(server.url, content=bad).status_code == 400
        quarantine_file = quarantine_path(log_dir, utc_now())
        quarantine_file.unlink()
        assert httpx.post(server.url, content=bad).status_code == 400
        assert len(quarantined(log_dir)) == 1


class FsyncSpy:
    """Records every fsync (what kind of file, which path) and every response, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, token: str, log_dir: Path) -> None:
        self.token = token
        self.app = create_receiver_app(token, log_dir)
        self.events: list[tuple[str, str]] = []
        self._real_fsync = os.fsync
        self.before_file_fsync: list[Callable[[], None]] = []  # one-shot, before a file fsync
        monkeypatch.setattr(os, "fsync", self._fsync)

    def _fsync(self, fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        if kind == "file" and self.before_file_fsync:
            self.before_file_fsync.pop(0)()
        self.events.append((f"fsync {kind}", os.readlink(f"/proc/self/fd/{fd}")))
        self._real_fsync(fd)

    def deliver(self, body: bytes) -> None:
        """One delivery straight into the ASGI app (same app, so the same held descriptors)."""
        scope = {
            "type": "http",
            "method": "POST",
            "path": f"{WEBHOOK_PREFIX}{self.token}",
            "headers": [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
        }

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.events.append(("response", str(message["status"])))

        asyncio.run(self.app(scope, receive, send))


def test_the_line_and_a_new_files_directory_are_fsynced_before_the_2xx(
    token: str, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = FsyncSpy(monkeypatch, token, log_dir)
    day_file = str(event_log_path(log_dir, utc_now()))
    spy.deliver(b'{"webhookType":"booking_created","id":"a"}')
    assert spy.events == [
        ("fsync dir", str(log_dir.parent)),  # the new log dir's entry
        ("fsync dir", str(log_dir)),  # the new day file's entry
        ("fsync file", day_file),
        ("response", "200"),
    ]
    spy.events.clear()
    os.unlink(day_file)
    # ... and when the file vanishes between the write and its fsync, the line is written again.
    spy.before_file_fsync.append(lambda: os.unlink(day_file))
    spy.deliver(b'{"webhookType":"booking_created","id":"b"}')
    assert spy.events == [
        ("fsync dir", str(log_dir)),
        ("fsync file", f"{day_file} (deleted)"),
        ("fsync dir", str(log_dir)),
        ("fsync file", day_file),
        ("response", "200"),
    ]
    assert [line["body"]["id"] for line in logged(log_dir)] == ["b"]


# --- no token in any log -------------------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.name} {logging.Formatter().format(record)}")


@pytest.fixture
def every_log_record() -> Iterator[Collect]:
    """All records of all loggers, DEBUG and below, uvicorn's own included."""
    collect = Collect()
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"]
    names += ["meetergo_pipeline.webhooks", "meetergo_pipeline.webhooks.access"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).addHandler(collect)
    try:
        yield collect
    finally:
        for name, level in saved.items():
            logging.getLogger(name).removeHandler(collect)
            logging.getLogger(name).setLevel(level)


def token_variants(token: str) -> list[str]:
    every_char_encoded = "".join(f"%{ord(c):02X}" for c in token)
    return [
        f"{WEBHOOK_PREFIX}{token}",
        f"/{WEBHOOK_PREFIX}{token}",
        f"/webhooks//meetergo/{token}",
        f"{WEBHOOK_PREFIX}/{token}",
        f"/WEBHOOKS/MEETERGO/{token}",
        f"/Webhooks/meetergo/{token.upper()}",
        f"/x/../webhooks/meetergo/{token}",
        f"/webhooks/./meetergo/{token}",
        f"/webhooks%2Fmeetergo%2F{token}",
        f"/%77ebhooks/meetergo/{token}",
        f"{WEBHOOK_PREFIX}{every_char_encoded}",
        f"{WEBHOOK_PREFIX}{quote(quote(token, safe=''), safe='')}%25",
        f"{WEBHOOK_PREFIX}{token}/",
        f"{WEBHOOK_PREFIX}{token}/extra",
        f"{WEBHOOK_PREFIX}{token}?retry=1",
        f"{WEBHOOK_PREFIX}x?token={token}",
        f"/?{token}",
        f"/{token}",
        f"/healthz/{token}",
        f"/healthz?{token}",
        f"/healthz#{token}",
        f"http://receiver{WEBHOOK_PREFIX}{token}",
        f"{WEBHOOK_PREFIX}{token[:8]}%00{token[8:]}",
        f"{WEBHOOK_PREFIX}{token} HTTP/1.0 junk",
    ]


def test_no_spelling_of_the_token_reaches_any_log(
    token: str, log_dir: Path, every_log_record: Collect, capfd: pytest.CaptureFixture[str]
) -> None:
    with ReceiverServer(token, log_dir, limits=QUICK) as server:
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
            logging.getLogger(name).setLevel(1)  # everything, uvicorn's trace records included
        statuses = []
        for path in token_variants(token):
            for method in ("POST", "GET"):
                body = b'{"webhookType":"booking_created","id":"v"}'
                request = post_head(path, len(body)).replace(b"POST", method.encode(), 1) + body
                received, _ = read_until_closed(
                    connect(
                        address_of(server), request.replace(b"HTTP/1.1\r\n", b"HTTP/1.0\r\n", 1)
                    ),
                    timeout=5,
                )
                statuses.append(received[9:12])
        assert b"200" in statuses and b"404" in statuses  # the receiver did answer and log them
    texts = [*every_log_record.texts, *capfd.readouterr()]
    access = [text for text in texts if text.startswith("meetergo_pipeline.webhooks.access")]
    assert any(OTHER_PATH in text for text in access) and any(
        MASKED_PATH in text for text in access
    )
    spelled = TokenMaskingFilter([token])
    leaks = [text for text in texts if spelled.holds_token(text)]
    assert leaks == []


def test_masking_filter_withholds_a_record_with_the_token_in_any_spelling(token: str) -> None:
    scope = {"path": f"/X/../WEBHOOKS/meetergo/{token.upper()}", "raw_path": quote(token).encode()}
    record = logging.LogRecord(
        "uvicorn.error", 5, __file__, 1, "ASGI started scope=%s", (scope,), None
    )
    TokenMaskingFilter([token]).filter(record)
    assert token.lower() not in record.getMessage().lower()
    assert "withheld" in record.getMessage()


# --- file modes ----------------------------------------------------------------------------


def test_log_and_quarantine_files_are_owner_only(token: str, log_dir: Path) -> None:
    previous = os.umask(0)  # the modes must come from the receiver, not from a strict umask
    try:
        with ReceiverServer(token, log_dir) as server:
            assert httpx.post(server.url, json=booking()).status_code == 200
            assert httpx.post(server.url, content=b"[]").status_code == 400
    finally:
        os.umask(previous)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(log_dir) == 0o700
    assert mode(log_dir / QUARANTINE_DIR) == 0o700
    assert mode(event_log_path(log_dir, utc_now())) == 0o600
    assert mode(quarantine_path(log_dir, utc_now())) == 0o600


# --- graceful stop -------------------------------------------------------------------------

SLOW_FSYNC = """
import os, stat, sys, time
_fsync = os.fsync
def _slow_fsync(fd):
    if stat.S_ISREG(os.fstat(fd).st_mode):
        print("test: fsync started", file=sys.stderr, flush=True)
        time.sleep(1.0)
    _fsync(fd)
os.fsync = _slow_fsync
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_finishes_the_delivery_being_stored_and_exits_promptly(
    token: str, log_dir: Path, stop_signal: signal.Signals
) -> None:
    with serve_process(token, log_dir, SLOW_FSYNC, **{BODY_TIMEOUT_ENV: "60"}) as receiver:
        idle = connect(receiver.address)
        slow_body = connect(receiver.address, post_head(f"{WEBHOOK_PREFIX}{token}", 100) + b"{")
        statuses: list[int] = []
        sender = threading.Thread(
            target=lambda: statuses.append(
                httpx.post(
                    receiver.url, json=booking(appointment_id="in-flight"), timeout=30
                ).status_code
            )
        )
        sender.start()
        receiver.wait_for("test: fsync started")
        started = time.monotonic()
        receiver.process.send_signal(stop_signal)
        returncode = receiver.process.wait(timeout=30)
        seconds = time.monotonic() - started
        sender.join(timeout=10)
        assert statuses == [200]  # answered after its fsync, during the stop
        assert returncode == 0
        assert seconds < GRACEFUL_STOP_S - 1  # the slow body was not waited for
        assert [line["body"]["id"] for line in logged(log_dir)] == ["in-flight"]
        for sock in (idle, slow_body):  # closed unanswered: nothing of theirs was stored
            assert read_until_closed(sock, timeout=5)[0] == b""
        receiver.wait_for("webhook receiver stopped")
