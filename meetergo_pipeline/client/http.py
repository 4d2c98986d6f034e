"""MeetergoHTTP: the one place where requests are sent, budgeted, retried and turned into errors.

Only GETs are retried on 5xx, timeouts and broken connections: meetergo has no idempotency
keys, so a POST that may have reached the server is never sent again. A 429 means the request
was refused before any work was done, so it is retried for every method. A GET whose
connection cannot be made (refused, unknown host, TLS, no answer) is retried for at most
`CONNECT_RETRY_S` after its first failed connect, then fails with `MeetergoConnectError`
naming the base URL; no wait follows a request's last attempt. A stop request
(`meetergo_pipeline.stop`) ends the budget wait and the backoff between attempts with
`StopRequested`; a request already sent ends within its timeout.
"""

from __future__ import annotations

import functools
import json as json_module
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from meetergo_pipeline import stop
from meetergo_pipeline.client.budget import RateBudget
from meetergo_pipeline.client.credentials import Credential
from meetergo_pipeline.client.errors import (
    MeetergoAPIError,
    MeetergoConnectError,
    MeetergoRateLimitError,
    MeetergoTransportError,
    error_for_status,
)
from meetergo_pipeline.client.retry import backoff_seconds, parse_retry_after

log = logging.getLogger(__name__)

ACTING_USER_HEADER = "x-meetergo-api-user-id"
BASE_URL_VARIABLE = "MEETERGO_API_BASE_URL"
CONNECT_RETRY_S = 30.0  # a GET stops retrying a failed connect this long after the first


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every client of this process verifies servers with (certifi's CA
    bundle, as httpx's default). httpx would build one per client, reading the bundle each
    time (about 30 ms); with many tenants that is a client per tenant and sync."""
    return httpx.create_ssl_context()


class MeetergoHTTP:
    """Budgeted, retrying JSON requests against the meetergo API."""

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        budget: RateBudget,
        *,
        timeout_s: float = 30.0,
        max_attempts: int = 6,
        max_retry_after_s: float = 300.0,
        connect_retry_s: float = CONNECT_RETRY_S,
        sleep: Callable[[float], None] = stop.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credential = credential
        self.budget = budget
        self.max_attempts = max_attempts
        self.max_retry_after_s = max_retry_after_s
        self.connect_retry_s = connect_retry_s
        self._sleep = sleep
        self._clock = clock
        self._timeout_s = timeout_s
        self._connect_timeout_s = min(10.0, timeout_s)
        self._timeout = httpx.Timeout(timeout_s, connect=self._connect_timeout_s)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self._timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            verify=tls_context(),
        )
        self._counter_lock = threading.Lock()
        self.requests_sent = 0
        self.retries = 0
        self.rate_limited = 0  # 429 answers received
        self.budget_wait_s = 0.0  # seconds spent waiting for a token of the rate budget
        self.waits: list[float] = []

    @property
    def credential_kind(self) -> str:
        return self._credential.kind

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        acting_user_id: str | None = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Send one request and return its decoded body.

        `decode` turns the body bytes into the result (default: parsed JSON, None for an
        empty body); a ValueError from it means a truncated or malformed body, which a GET
        retries like a broken connection.
        """
        decode = decode or _json_or_none
        headers = {"Authorization": self._credential.authorization_header()}
        if acting_user_id:
            headers[ACTING_USER_HEADER] = acting_user_id
        retry_on_failure = method.upper() == "GET"
        last_error: Exception | None = None
        connect_deadline: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            self._count(self.budget.acquire())
            attempt_started = self._clock()
            try:
                response = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self._timeout_before(connect_deadline),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last_error = self._connect_error(exc, attempt)
                if connect_deadline is None:
                    connect_deadline = attempt_started + self.connect_retry_s
                time_left = connect_deadline - self._clock()
                if not retry_on_failure or time_left <= 0 or attempt == self.max_attempts:
                    raise last_error from None
                wait = min(backoff_seconds(attempt), time_left)
                self._wait(wait, type(exc).__name__, method, path)
                continue
            except httpx.TransportError as exc:
                last_error = MeetergoTransportError(f"{method} {path}: {type(exc).__name__}")
                if not retry_on_failure:
                    raise last_error from None
                self._retry(attempt, backoff_seconds(attempt), type(exc).__name__, method, path)
                continue
            if response.is_success:
                try:
                    return decode(response.content)
                except ValueError:
                    last_error = MeetergoTransportError(
                        f"{method} {path}: truncated or malformed JSON body"
                    )
                    if not retry_on_failure:
                        raise last_error from None
                    self._retry(attempt, backoff_seconds(attempt), "truncated body", method, path)
                    continue
            error = self._error(response, method, path)
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_after_s:
                    raise MeetergoRateLimitError(
                        429,
                        f"Retry-After of {retry_after:.0f} s exceeds the "
                        f"{self.max_retry_after_s:.0f} s cap",
                        method=method,
                        path=path,
                        retry_after_s=retry_after,
                    )
                self.budget.drain()
                last_error = error
                self._retry(attempt, retry_after or backoff_seconds(attempt), "429", method, path)
                continue
            if response.status_code >= 500 and retry_on_failure:
                last_error = error
                self._retry(
                    attempt, backoff_seconds(attempt), str(response.status_code), method, path
                )
                continue
            raise error
        assert last_error is not None
        log.warning("%s %s gave up after %d attempts", method, path, self.max_attempts)
        raise last_error

    def _timeout_before(self, connect_deadline: float | None) -> httpx.Timeout:
        """The request's timeouts; once connecting has failed, connecting ends by the deadline."""
        if connect_deadline is None:
            return self._timeout
        time_left = max(0.5, connect_deadline - self._clock())
        return httpx.Timeout(self._timeout_s, connect=min(self._connect_timeout_s, time_left))

    def _connect_error(self, error: httpx.TransportError, attempt: int) -> MeetergoConnectError:
        return MeetergoConnectError(
            f"cannot connect to {self.base_url} ({BASE_URL_VARIABLE}): {connect_failure(error)} "
            f"(after {attempt} attempt{'s' if attempt > 1 else ''}); check the URL and that "
            "this machine can reach it"
        )

    def _count(self, budget_wait_s: float) -> None:
        with self._counter_lock:
            self.requests_sent += 1
            self.budget_wait_s += budget_wait_s

    def _retry(self, attempt: int, seconds: float, reason: str, method: str, path: str) -> None:
        """Wait before the next attempt; after the last one there is nothing to wait for."""
        if attempt < self.max_attempts:
            self._wait(seconds, reason, method, path)

    def _wait(self, seconds: float, reason: str, method: str, path: str) -> None:
        log.info("%s %s: %s, retrying in %.1f s", method, path, reason, seconds)
        with self._counter_lock:
            self.retries += 1
            self.rate_limited += reason == "429"
            self.waits.append(seconds)
        self._sleep(seconds)

    @staticmethod
    def _error(response: httpx.Response, method: str, path: str) -> MeetergoAPIError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return error_for_status(response.status_code, body, method=method, path=path)


def _json_or_none(body: bytes) -> Any:
    return json_module.loads(body) if body else None


def connect_failure(error: httpx.TransportError) -> str:
    """What went wrong while connecting, in words (refused, unknown host, TLS, no answer)."""
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if isinstance(error, httpx.ConnectTimeout):
        return "no answer while connecting (timed out)"
    if "refused" in lowered:
        return "connection refused"
    if any(
        hint in lowered
        for hint in ("name or service", "nodename", "name resolution", "getaddrinfo")
    ):
        return "unknown host name (DNS lookup failed)"
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        return f"TLS handshake failed ({text})"
    return text
