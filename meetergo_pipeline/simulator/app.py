"""The simulator's ASGI app: faults, auth and rate limiting in front of the route handlers.

Order per request: count it; run scripted callbacks; apply a scripted or random fault; add
latency; 404 unknown routes (NestJS body, no auth, like Nest); authenticate (401); rate limit
per credential (429); resolve the acting user (400/403); then the handler.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from meetergo_pipeline.simulator.auth import (
    USER_HEADER,
    acting_user,
    authenticate,
    bearer_credential,
    credential_kind,
)
from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.errors import TenantError, not_found_route
from meetergo_pipeline.simulator.faults import (
    RATE_LIMIT_BODY,
    RandomFaults,
    ScriptedFault,
    ScriptedFaults,
)
from meetergo_pipeline.simulator.ratelimit import RateLimiter, retry_after_header
from meetergo_pipeline.simulator.route_support import TENANT_KEY
from meetergo_pipeline.simulator.routes import ACTING_USER_KEY, ROUTES
from meetergo_pipeline.simulator.stats import NO_RESPONSE, RequestRecord, RequestStats

if TYPE_CHECKING:
    from meetergo_pipeline.simulator.tenant import Tenant

RATE_LIMIT_BYTES = json.dumps(RATE_LIMIT_BODY, separators=(",", ":")).encode()


def create_app(
    tenant: Tenant, config: SimulatorConfig, stats: RequestStats, faults: ScriptedFaults
) -> SimulatorApp:
    return SimulatorApp(tenant, config, stats, faults)


async def _tenant_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, TenantError)
    return error.response()


class SimulatorApp(Starlette):
    """A Starlette app whose `__call__` adds the API's cross-cutting behaviour."""

    def __init__(
        self, tenant: Tenant, config: SimulatorConfig, stats: RequestStats, faults: ScriptedFaults
    ) -> None:
        super().__init__(routes=ROUTES, exception_handlers={TenantError: _tenant_error})
        self.tenant = tenant
        self.config = config
        self.stats = stats
        self.faults = faults
        self.random_faults = RandomFaults(config)
        self.rate_limiter = RateLimiter(config.rate_limit_per_minute, config.rate_limit_burst)
        self.tenants_by_credential: dict[str, Tenant] = {}
        self._retry_after_rng = random.Random(config.seed * 17 + 3)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = _RequestFacts(self, scope)
        receive, raw_receive = await _buffered(receive)
        recorded = False

        async def recording_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                self.stats.record(request.record(message["status"]))
            await send(message)

        try:
            await self._handle(request, scope, (receive, raw_receive), recording_send, send)
        finally:
            if not recorded:
                self.stats.record(request.record(NO_RESPONSE))

    async def _handle(
        self,
        request: _RequestFacts,
        scope: Scope,
        receivers: tuple[Receive, Receive],
        send: Send,
        raw_send: Send,
    ) -> None:
        receive, raw_receive = receivers
        callbacks, fault = self.faults.take(request.method, request.path, request.query)
        for callback in callbacks:
            callback()
        fault = fault or self.random_faults.roll()
        if fault is not None:
            if fault.delay_s and await _disconnected_during(fault.delay_s, raw_receive):
                return
            if fault.serve_page is not None:
                query = {**request.query, "page": str(fault.serve_page)}
                scope["query_string"] = urlencode(query).encode()
            if fault.drop:
                await _drop_connection(raw_send)
                return
            if fault.status is not None:
                await _send_fault(fault, send)
                return
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if fault is not None and fault.truncate:
            await _send_truncated(self._serve, scope, receive, send)
        else:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route_template(self, scope)
        if route is None:
            await not_found_route(scope["method"], scope["path"])(scope, receive, send)
            return
        headers = dict(Request(scope).headers)
        tenant = self.tenants_by_credential.get(
            bearer_credential(headers.get("authorization")) or ""
        )
        scope[TENANT_KEY] = tenant = tenant or self.tenant
        try:
            principal = authenticate(tenant, headers.get("authorization"))
            limited = self._rate_limited(principal.credential)
            if limited is not None:
                await limited(scope, receive, send)
                return
            scope[ACTING_USER_KEY] = acting_user(
                tenant, principal, headers.get(USER_HEADER), scope["method"], route
            )
        except TenantError as error:
            await error.response()(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def add_tenant(self, tenant: Tenant) -> None:
        """Serve `tenant` too: a request carrying one of its credentials reads and writes its
        data (each tenant's key has its own rate limit, as every key does). A credential the
        app's own tenant holds too stays the own tenant's."""

        def credentials(of: Tenant) -> set[str]:
            tokens = (of.api_key, of.expired_api_key, of.personal_token, of.admin_personal_token)
            return set(tokens)

        for credential in credentials(tenant) - credentials(self.tenant):
            self.tenants_by_credential[credential] = tenant

    def _rate_limited(self, credential: str) -> Response | None:
        if not self.config.rate_limit_enabled:
            return None
        wait_s = self.rate_limiter.acquire(credential)
        if wait_s is None:
            return None
        headers = {}
        if self._retry_after_rng.random() < self.config.retry_after_probability:
            headers["Retry-After"] = retry_after_header(wait_s)
        return Response(RATE_LIMIT_BYTES, 429, headers, "application/json")


class _RequestFacts:
    """What the stats log keeps about a request, taken before any fault rewrites it."""

    def __init__(self, app: Starlette, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.credential_kind = credential_kind(headers.get("authorization"))
        self.at = time.time()
        self.route = _route_template(app, scope) or self.path

    def record(self, status: int) -> RequestRecord:
        return RequestRecord(
            self.method, self.path, self.query, status, self.route, self.at, self.credential_kind
        )


def _route_template(app: Starlette, scope: Scope) -> str | None:
    for route in app.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", None)
    return None


async def _buffered(receive: Receive) -> tuple[Receive, Receive]:
    """Read the whole request body now.

    Returns a `receive` that replays it and then passes through, and the raw `receive`, which
    from now on only reports the client disconnecting.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay, receive


async def _disconnected_during(delay_s: float, raw_receive: Receive) -> bool:
    """Sleep `delay_s` unless the client goes away first (then True: nothing to send)."""
    waiter = asyncio.ensure_future(raw_receive())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=delay_s)
    finally:
        waiter.cancel()
    return bool(done) and waiter.result()["type"] == "http.disconnect"


async def _drop_connection(raw_send: Send) -> None:
    """Close the TCP connection without a response (uvicorn h11: the cycle owns the transport)."""
    transport: Any = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("simulated dropped connection")
    transport.abort()
    await asyncio.sleep(0.01)  # let uvicorn notice, so it does not answer 500 for us


async def _send_fault(fault: ScriptedFault, send: Send) -> None:
    assert fault.status is not None
    body, media_type = fault.response_body()
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_truncated(serve: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the real answer, then cut its body in half (valid HTTP framing, broken JSON)."""
    captured: list[Message] = []

    async def capture(message: Message) -> None:
        captured.append(message)

    await serve(scope, receive, capture)
    start = captured[0]
    body = b"".join(m.get("body", b"") for m in captured[1:])
    cut = body[: len(body) // 2]
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": cut})
