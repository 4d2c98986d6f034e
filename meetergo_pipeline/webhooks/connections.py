"""uvicorn's HTTP/1.1 protocol plus the limits uvicorn lacks, so slow or idle clients cannot
hold the receiver's connections (and file descriptors) away from real deliveries.

- Request headers must be complete within the header timeout, counted from the connection's
  start or from the first byte of a later request on it, and stay under ``MAX_HEADER_BYTES``.
- A request's body must be complete within the body timeout after its headers, else it is
  answered 408 and closed (the receiver's access line shows 499: nothing was stored).
- At most ``max_connections`` connections are open. A new one beyond that closes the oldest
  idle connection (no request in progress); if every connection is busy it is answered 503.
- On shutdown a request still receiving its body is cut off (nothing was stored or answered,
  the sender retries); a request whose body is complete is finished, its fsync included.

Deadlines are checked by one sweep per server (several times a second at most), not by a
timer per request. The keep-alive timeout is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import resource
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from meetergo_pipeline.webhooks.settings import ReceiverLimits

MAX_HEADER_BYTES = 64 * 1024
SPARE_FILE_DESCRIPTORS = 16  # log files, directory fsyncs, the event loop's own

logger = logging.getLogger("meetergo_pipeline.webhooks")


def _closing_response(status_line: str, message: str) -> bytes:
    body = json.dumps({"status": message}).encode()
    head = (
        f"HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


_BUSY = _closing_response("503 Service Unavailable", "too many connections")
_HEADERS_TOO_LARGE = _closing_response("431 Request Header Fields Too Large", "headers too large")
_BODY_TOO_SLOW = _closing_response("408 Request Timeout", "request timeout")


class OpenConnections:
    """The open connections of one server, oldest first: the connection limit and one sweep
    that closes connections past their header or body deadline (no timer per request)."""

    def __init__(self, limit: int, header_timeout_s: float, body_timeout_s: float) -> None:
        self.limit = limit
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.sweep_every_s = min(1.0, max(0.05, min(header_timeout_s, body_timeout_s) / 4))
        self._open: dict[GuardedHttpProtocol, None] = {}
        self._sweep: asyncio.TimerHandle | None = None

    def admit(self, connection: GuardedHttpProtocol) -> bool:
        """Register ``connection``; at the limit close the oldest idle one, or refuse it."""
        if len(self._open) >= self.limit:
            oldest_idle = next((c for c in self._open if c.is_idle()), None)
            if oldest_idle is None:
                return False
            self.discard(oldest_idle)
            oldest_idle.close("connection limit reached")
        self._open[connection] = None
        if self._sweep is None:
            self._sweep = connection.loop.call_later(self.sweep_every_s, self._close_overdue)
        return True

    def discard(self, connection: GuardedHttpProtocol) -> None:
        self._open.pop(connection, None)

    def _close_overdue(self) -> None:
        self._sweep = None
        if not self._open:
            return
        loop = next(iter(self._open)).loop
        now = loop.time()
        for connection in list(self._open):
            connection.close_if_overdue(now)
        self._sweep = loop.call_later(self.sweep_every_s, self._close_overdue)


_WAITING = "waiting"  # after a response, before the next request's first byte (keep-alive)
_HEADERS = "headers"  # receiving a request's headers
_REQUEST = "request"  # headers complete: receiving the body, being stored, being answered


class GuardedHttpProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """One client connection: uvicorn's protocol with deadlines and the connection limit."""

    def __init__(self, *args: Any, open_connections: OpenConnections, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open_connections = open_connections
        self._phase = _HEADERS
        self._phase_since = 0.0
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._phase_since = self.loop.time()
        if not self._open_connections.admit(self):
            logger.warning(
                "webhook connection refused with 503: all %d connections are busy",
                self._open_connections.limit,
            )
            transport.write(_BUSY)
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._open_connections.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._phase == _WAITING:
            self._phase, self._phase_since, self._header_bytes = _HEADERS, self.loop.time(), 0
        cycle_before = self.cycle
        super().data_received(data)
        if self._phase != _HEADERS or self.transport.is_closing():
            return
        if self.cycle is not cycle_before:  # a new request's headers are complete
            self._phase, self._phase_since = _REQUEST, self.loop.time()
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self.transport.write(_HEADERS_TOO_LARGE)
            self.close(f"request headers over {MAX_HEADER_BYTES} bytes")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.is_idle():  # uvicorn's keep-alive timeout applies until the next byte
            self._phase = _WAITING

    def shutdown(self) -> None:
        if self._receiving_body():
            self.close("shutting down while its request body was still arriving")
        else:
            super().shutdown()

    def is_idle(self) -> bool:
        """No request in progress: waiting for (the rest of) a request's headers."""
        return self.cycle is None or bool(self.cycle.response_complete)

    def close(self, reason: str) -> None:
        if not self.transport.is_closing():
            logger.debug("webhook connection closed: %s", reason)
            self.transport.close()

    def close_if_overdue(self, now: float) -> None:
        """Close the connection if its headers or body are later than their timeout."""
        waited = now - self._phase_since
        limits = self._open_connections
        if self._phase == _HEADERS and waited > limits.header_timeout_s:
            self.close(f"no complete request headers within {limits.header_timeout_s} s")
        elif self._receiving_body() and waited > limits.body_timeout_s:
            logger.warning("webhook rejected: body not complete within %s s", limits.body_timeout_s)
            if not self.cycle.response_started:
                self.transport.write(_BODY_TOO_SLOW)
            self.close(f"request body not complete within {limits.body_timeout_s} s")

    def _receiving_body(self) -> bool:
        cycle = self.cycle
        return cycle is not None and bool(cycle.more_body) and not cycle.response_complete


def guarded_protocol_factory(limits: ReceiverLimits) -> Callable[..., Any]:
    """What ``uvicorn.Config(http=...)`` takes: builds one guarded protocol per connection."""
    open_connections = OpenConnections(
        usable_connection_limit(limits.max_connections),
        limits.header_timeout_s,
        limits.body_timeout_s,
    )
    return functools.partial(GuardedHttpProtocol, open_connections=open_connections)


def usable_connection_limit(wanted: int) -> int:
    """``wanted``, lowered so that connections never exhaust this process's open-file limit."""
    soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft_limit == resource.RLIM_INFINITY:
        return wanted
    usable = max(1, soft_limit - _open_file_descriptors() - SPARE_FILE_DESCRIPTORS)
    if usable < wanted:
        logger.warning(
            "webhook receiver: at most %d connections (open-file limit %d), not %d",
            usable,
            soft_limit,
            wanted,
        )
    return min(wanted, usable)


def _open_file_descriptors() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: assume a typical process
        return 32
