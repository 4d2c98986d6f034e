"""Running the receiver under uvicorn: in the foreground (CLI) or in a thread (tests, bench).

uvicorn's own access log is switched off: it would print the token in the path. The receiver
writes its own access line with the path masked (logger ``meetergo_pipeline.webhooks.access``).
Connections are bounded by ``ReceiverLimits`` (see ``settings.py`` and ``connections.py``).
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn

from meetergo_pipeline.webhooks.connections import guarded_protocol_factory
from meetergo_pipeline.webhooks.receiver import MASKED_PATH, WEBHOOK_PREFIX, create_receiver_app
from meetergo_pipeline.webhooks.settings import ReceiverLimits

GRACEFUL_STOP_S = 5  # how long a stop waits for requests being stored

logger = logging.getLogger("meetergo_pipeline.webhooks")


def serve(
    token: str,
    log_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8766,
    limits: ReceiverLimits | None = None,
    inbox_url: str | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully and return.

    ``port=0`` picks a free port (logged on startup). On the signal the receiver stops
    accepting, cuts off requests whose body is still arriving, lets requests being stored
    finish (fsync or commit and answer, for up to ``GRACEFUL_STOP_S``) and closes its log or
    its inbox connection. With ``inbox_url`` deliveries go to that PostgreSQL inbox, never
    to ``log_dir``; the URL is never logged (only its host, port and database).
    """
    limits = limits or ReceiverLimits()
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    server = uvicorn.Server(_config(token, log_dir, limits, inbox_url))
    logger.info(
        "webhook receiver listening on http://%s:%d%s, %s "
        "(headers %g s, body %g s, keep-alive %g s, at most %d connections)",
        bound_host,
        bound_port,
        MASKED_PATH,
        _storage(log_dir, inbox_url),
        limits.header_timeout_s,
        limits.body_timeout_s,
        limits.keepalive_s,
        limits.max_connections,
    )
    # uvicorn stops gracefully on these signals, then restores the handlers it found and
    # raises the signal again: ours turn that into a normal return (no traceback, exit 0).
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _stop_requested) for sig in stop_signals}
    try:
        server.run(sockets=[sock])
    except _StopRequested:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("webhook receiver stopped")


class ReceiverServer:
    """Context manager running the receiver on a free loopback port in a background thread.

    >>> with ReceiverServer(token, tmp_path) as server:
    ...     httpx.post(server.url, json={...})
    """

    def __init__(
        self,
        token: str,
        log_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ReceiverLimits | None = None,
        inbox_url: str | None = None,
    ) -> None:
        self.token = token
        self.log_dir = Path(log_dir)
        self._sock = _bind(host, port)
        bound_host, self.port = self._sock.getsockname()[:2]
        self.base_url = f"http://{bound_host}:{self.port}"
        self.url = f"{self.base_url}{WEBHOOK_PREFIX}{token}"
        config = _config(token, self.log_dir, limits or ReceiverLimits(), inbox_url)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ReceiverServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class _StopRequested(Exception):
    """SIGINT or SIGTERM arrived; the server has already stopped gracefully."""


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested


def _storage(log_dir: Path, inbox_url: str | None) -> str:
    """Where deliveries go, as the startup line says it (never the inbox's URL)."""
    if inbox_url is None:
        return f"log dir {log_dir}"
    from meetergo_pipeline.webhooks.inbox import inbox_location

    return f"PostgreSQL inbox {inbox_location(inbox_url)}"


def _config(
    token: str, log_dir: Path, limits: ReceiverLimits, inbox_url: str | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        create_receiver_app(token, log_dir, inbox_url),
        http=guarded_protocol_factory(limits),  # type: ignore[arg-type]
        ws="none",
        timeout_keep_alive=limits.keepalive_s,  # type: ignore[arg-type]
        access_log=False,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )


class ReceiverBindError(OSError):
    """The receiver could not listen on its host and port (in use, privileged, no such host)."""


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ReceiverBindError(error.errno, error.strerror) from error
    sock.listen(2048)  # connections queue from here on, even before uvicorn accepts
    sock.set_inheritable(True)
    return sock
