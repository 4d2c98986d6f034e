"""ASGI receiver for meetergo webhooks: ``POST /webhooks/meetergo/{token}``, ``GET /healthz``.

With many tenants, each tenant's webhook registration points at
``/webhooks/meetergo/{token}/{tenant_id}``: its deliveries go to that tenant's own day file
(``log.event_log_path``), and the ingest stores them as that tenant's. The plain URL is the
``default`` tenant's. (The PostgreSQL inbox stores every delivery as the default tenant's.)

meetergo does not sign payloads, so the unguessable token in the URL is the only secret: it is
compared in constant time and never written to any log (the access log shows only
``/healthz``, ``/webhooks/meetergo/***`` or ``<other path>``; uvicorn's loggers are filtered).
A delivery is acknowledged only after its line is fsync'd to the day's log file, or, with a
PostgreSQL inbox (``inbox.py``), after its row is committed there; the receiver never touches
DuckDB (``ingest.py`` and ``inbox_ingest.py`` load them later).

Status codes, chosen for an at-least-once sender that retries any non-2xx:
200 stored, 202 quarantined (valid JSON we cannot use; a retry would not help),
400 not a JSON object (quarantined), 404 wrong token, 413 too large, 503 storage failed
(and, from ``connections.py``, 408 body too slow, 431 headers too large, 503 too many
connections).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from meetergo_pipeline.webhooks.body import first_key_wins, read_body_keys
from meetergo_pipeline.webhooks.log import (
    TENANT_ID,
    EventLog,
    delivery_line,
    event_log_path,
    quarantine_line,
    quarantine_path,
    utc_now,
)

if TYPE_CHECKING:
    from meetergo_pipeline.webhooks.inbox_writer import InboxWriter

MAX_BODY_BYTES = 256 * 1024
MIN_TOKEN_LENGTH = 16
WEBHOOK_PREFIX = "/webhooks/meetergo/"
MASKED_PATH = WEBHOOK_PREFIX + "***"
HEALTH_PATH = "/healthz"
OTHER_PATH = "<other path>"

logger = logging.getLogger("meetergo_pipeline.webhooks")
access_logger = logging.getLogger("meetergo_pipeline.webhooks.access")

Scope = dict[str, Any]


def create_receiver_app(token: str, log_dir: Path, inbox_url: str | None = None) -> WebhookReceiver:
    """The receiver as an ASGI callable storing deliveries under ``log_dir``, or in the
    PostgreSQL inbox at ``inbox_url`` (deliveries and quarantine alike) when one is given."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"webhook token must be at least {MIN_TOKEN_LENGTH} characters")
    install_token_masking(token)
    inbox = None
    if inbox_url is not None:
        from meetergo_pipeline.webhooks.inbox_writer import InboxWriter

        inbox = InboxWriter(inbox_url)
    return WebhookReceiver(token, Path(log_dir), inbox=inbox)


@dataclass(frozen=True)
class Verdict:
    """What to do with a delivery body: log it, quarantine it, or both rejected and answered."""

    status: int
    line_body: bytes | None = None  # one-line JSON object text for the event log
    quarantine_reason: str | None = None


def judge_body(raw: bytes) -> Verdict:
    """Validate a body without trusting it; unknown event types are kept as they are.

    A booking event without an appointment id is quarantined: ``read_body_keys`` reads type
    and id as the ingest does (``body.py``). What the ingest could not read the same way is
    refused with 400: nesting deeper than the parser's recursion limit, and text escapes that
    decode to a lone surrogate (no UTF-8 text can hold one).
    """
    try:
        parsed = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=first_key_wins
        )
        if b"\\u" in raw:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        return Verdict(400, quarantine_reason=f"malformed JSON: {type(exc).__name__}")
    if not isinstance(parsed, dict):
        return Verdict(400, quarantine_reason=f"JSON {type(parsed).__name__}, not an object")
    keys = read_body_keys(parsed)
    if keys.is_booking and keys.appointment_id is None:
        return Verdict(
            202, quarantine_reason=f"{keys.event_type_as_sent} without an appointment id"
        )
    if b"\n" in raw or b"\r" in raw:
        raw = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()
    return Verdict(200, line_body=raw.strip())


class WebhookReceiver:
    def __init__(
        self,
        token: str,
        log_dir: Path,
        max_body_bytes: int = MAX_BODY_BYTES,
        inbox: InboxWriter | None = None,
    ) -> None:
        self._token = token.encode()
        self.log_dir = log_dir
        self.max_body_bytes = max_body_bytes
        self._log = EventLog()
        self._inbox = inbox

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status = await self._handle(scope, receive, send)
            path = loggable_path(scope["path"])
            client = scope.get("client") or ("-", 0)
            access_logger.info('%s "%s %s" %d', client[0], scope["method"], path, status)

    async def _handle(self, scope: Scope, receive: Any, send: Any) -> int:
        path, method = scope["path"], scope["method"]
        if path == HEALTH_PATH:
            ok = method in ("GET", "HEAD")
            return await _respond(send, 200 if ok else 405, "ok" if ok else "method not allowed")
        if not path.startswith(WEBHOOK_PREFIX):
            return await _respond(send, 404, "not found")
        token, _, tenant_id = path[len(WEBHOOK_PREFIX) :].partition("/")
        if not self._token_matches(token) or (tenant_id and not TENANT_ID.fullmatch(tenant_id)):
            return await _respond(send, 404, "not found")
        if method != "POST":
            return await _respond(send, 405, "method not allowed")
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            logger.warning("webhook rejected: body of %d bytes exceeds the limit", declared)
            return await _respond(send, 413, "payload too large", close=True)
        try:
            raw = await self._read_body(receive)
        except _ClientGone:
            return 499  # nginx's "client closed request"; nothing stored, nothing sent
        if raw is None:
            logger.warning("webhook rejected: body exceeds %d bytes", self.max_body_bytes)
            return await _respond(send, 413, "payload too large", close=True)
        return await self._store(send, raw, tenant_id or None)

    async def _store(self, send: Any, raw: bytes, tenant_id: str | None = None) -> int:
        verdict = judge_body(raw)
        received_at = utc_now()
        if verdict.quarantine_reason is not None:
            logger.warning(
                "webhook quarantined (%d bytes): %s", len(raw), verdict.quarantine_reason
            )
        try:
            if self._inbox is None:
                await self._append_to_log(received_at, verdict, raw, tenant_id)
            else:
                await self._inbox.store(
                    received_at, verdict.line_body, verdict.quarantine_reason, raw
                )
        except OSError as exc:
            logger.error("webhook not stored, answering 503: %s", exc.strerror or exc)
            return await _respond(send, 503, "storage unavailable")
        message = {200: "stored", 202: "quarantined"}.get(verdict.status, verdict.quarantine_reason)
        return await _respond(send, verdict.status, message or "rejected")

    async def _append_to_log(
        self, received_at: datetime, verdict: Verdict, raw: bytes, tenant_id: str | None
    ) -> None:
        if verdict.line_body is not None:
            line = delivery_line(received_at, verdict.line_body)
            await self._log.append(event_log_path(self.log_dir, received_at, tenant_id), line)
        if verdict.quarantine_reason is not None:
            record = quarantine_line(received_at, verdict.quarantine_reason, raw)
            await self._log.append(quarantine_path(self.log_dir, received_at), record)

    def _token_matches(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self._token)

    async def _read_body(self, receive: Any) -> bytes | None:
        """The whole body, or None once it grows past the limit (counted while reading)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._inbox is not None:
                    await self._inbox.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._log.aclose()
                if self._inbox is not None:
                    await self._inbox.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def loggable_path(path: str) -> str:
    """The path as the access log shows it: one of three fixed strings, never a token."""
    if path.startswith(WEBHOOK_PREFIX):
        return MASKED_PATH
    return HEALTH_PATH if path == HEALTH_PATH else OTHER_PATH


class TokenMaskingFilter(logging.Filter):
    """Keeps webhook tokens out of a record.

    Webhook-looking paths in the message become ``/webhooks/meetergo/***``; a message or
    traceback that still holds one of ``tokens`` in any case or percent-encoding is withheld.
    """

    _pattern = re.compile(r"(?i)(?:/|%2f)webhooks(?:/|%2f)+meetergo(?:/|%2f)+[^\s\"'?]+")
    _withheld = "<log message withheld: it contained the webhook token>"

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        super().__init__()
        self.tokens = {token.lower() for token in tokens}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._pattern.sub(MASKED_PATH, message)
        if self.holds_token(masked):
            masked = self._withheld
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and self.holds_token(
            logging.Formatter().formatException(record.exc_info)
        ):
            record.exc_info = record.exc_text = None
            record.msg = f"{record.msg} (traceback withheld: it contained the webhook token)"
        return True

    def holds_token(self, text: str) -> bool:
        """Whether ``text`` contains a guarded token, ignoring case and percent-encoding."""
        spelled = text.lower()
        for _ in range(4):  # as written, then up to three rounds of percent-decoding
            if any(token in spelled for token in self.tokens):
                return True
            decoded = unquote(spelled).lower()
            if decoded == spelled:
                return False
            spelled = decoded
        return False


def install_token_masking(token: str | None = None) -> None:
    """Guard uvicorn's own loggers too: its access log is off, but trace or error records could
    name the request. ``token`` joins the tokens every guard withholds."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        target = logging.getLogger(name)
        guard = next((f for f in target.filters if isinstance(f, TokenMaskingFilter)), None)
        if guard is None:
            guard = TokenMaskingFilter()
            target.addFilter(guard)
        if token:
            guard.tokens.add(token.lower())


class _ClientGone(Exception):
    """The sender hung up before its body arrived."""


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _respond(send: Any, status: int, message: str, *, close: bool = False) -> int:
    body = json.dumps({"status": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status
