"""Running the receiver under uvicorn: in the foreground (CLI) or in a thread (tests, bench).

uvicorn's own access log is switched off: it would print the token in the path. The receiver
writes its own access line with the path masked (logger ``meetergo_pipeline.webhooks.access``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from meetergo_pipeline.webhooks.receiver import MASKED_PATH, WEBHOOK_PREFIX, create_receiver_app

logger = logging.getLogger("meetergo_pipeline.webhooks")


def serve(token: str, log_dir: Path, host: str = "127.0.0.1", port: int = 8766) -> None:
    """Serve until SIGINT/SIGTERM. ``port=0`` picks a free port (logged on startup)."""
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    logger.info(
        "webhook receiver listening on http://%s:%d%s, log dir %s",
        bound_host,
        bound_port,
        MASKED_PATH,
        log_dir,
    )
    server = uvicorn.Server(_config(token, log_dir))
    server.run(sockets=[sock])


class ReceiverServer:
    """Context manager running the receiver on a free loopback port in a background thread.

    >>> with ReceiverServer(token, tmp_path) as server:
    ...     httpx.post(server.url, json={...})
    """

    def __init__(self, token: str, log_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self.log_dir = Path(log_dir)
        self._sock = _bind(host, port)
        bound_host, self.port = self._sock.getsockname()[:2]
        self.base_url = f"http://{bound_host}:{self.port}"
        self.url = f"{self.base_url}{WEBHOOK_PREFIX}{token}"
        self._server = uvicorn.Server(_config(token, self.log_dir))
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


def _config(token: str, log_dir: Path) -> uvicorn.Config:
    return uvicorn.Config(
        create_receiver_app(token, log_dir),
        access_log=False,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=5,
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from here on, even before uvicorn accepts
    sock.set_inheritable(True)
    return sock
