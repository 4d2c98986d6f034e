"""Injected faults: random ones from the config and scripted ones that tests arm.

A scripted fault matches method (None = any), exact path and a subset of the query; the next
`times` matching requests (None = every one) get it instead of the real answer. Callbacks
(`on_request`) run before the request is served and do not replace the response.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.errors import NGINX_502_HTML, error_body

RATE_LIMIT_BODY = {"statusCode": 429, "message": "Too Many Requests", "error": "Too Many Requests"}


@dataclass
class ScriptedFault:
    """One armed fault. `status` None means "serve the real answer" (after delay/truncation)."""

    path: str
    method: str | None = "GET"
    query: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    html: bool = False
    delay_s: float = 0.0
    drop: bool = False
    truncate: bool = False
    serve_page: int | None = None
    callback: Callable[[], None] | None = None
    hits: int = 0

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())

    def response_body(self) -> tuple[bytes, str]:
        """Body bytes and media type of the injected response."""
        assert self.status is not None
        if self.html:
            return html_error_page(self.status).encode(), "text/html"
        content = self.body if self.body is not None else default_error_body(self.status)
        if isinstance(content, bytes):
            return content, "application/json"
        if isinstance(content, str):
            return content.encode(), "application/json"
        return json.dumps(content).encode(), "application/json"


class ScriptedFaults:
    """The registry behind `sim.faults`; thread-safe, consumed in the order armed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[ScriptedFault] = []

    def add(
        self,
        path: str,
        *,
        method: str | None = "GET",
        query: dict[str, Any] | None = None,
        times: int | None = 1,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        html: bool = False,
        delay_s: float = 0.0,
        drop: bool = False,
        truncate: bool = False,
    ) -> ScriptedFault:
        """Arm a fault for the next `times` matching requests (None: until cleared)."""
        fault = ScriptedFault(
            path=path,
            method=method,
            query=_stringify(query),
            times=times,
            status=status,
            headers=dict(headers or {}),
            body=body,
            html=html,
            delay_s=delay_s,
            drop=drop,
            truncate=truncate,
        )
        return self._arm(fault)

    def repeat_page(
        self, path: str, page: int, times: int = 1, source_page: int | None = None
    ) -> ScriptedFault:
        """When `page` is asked, serve `source_page` (default page - 1) instead, byte for byte."""
        source = page - 1 if source_page is None else source_page
        fault = ScriptedFault(path=path, query={"page": str(page)}, times=times, serve_page=source)
        return self._arm(fault)

    def on_request(
        self,
        path: str,
        query: dict[str, Any] | None,
        callback: Callable[[], None],
        times: int | None = 1,
        method: str | None = "GET",
    ) -> ScriptedFault:
        """Run `callback` before serving matching requests (e.g. insert rows mid-pagination)."""
        fault = ScriptedFault(
            path=path, method=method, query=_stringify(query), times=times, callback=callback
        )
        return self._arm(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[ScriptedFault]:
        """Faults that can still fire."""
        with self._lock:
            return [f for f in self._faults if f.times is None or f.hits < f.times]

    def take(
        self, method: str, path: str, query: dict[str, str]
    ) -> tuple[list[Callable[[], None]], ScriptedFault | None]:
        """Consume the callbacks and the first response fault matching this request."""
        callbacks: list[Callable[[], None]] = []
        chosen: ScriptedFault | None = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path, query):
                    continue
                if fault.callback is not None:
                    fault.hits += 1
                    callbacks.append(fault.callback)
                elif chosen is None:
                    fault.hits += 1
                    chosen = fault
        return callbacks, chosen

    def _arm(self, fault: ScriptedFault) -> ScriptedFault:
        with self._lock:
            self._faults.append(fault)
        return fault


class RandomFaults:
    """Per-request dice for the config's fault rates, from a seeded rng (reproducible runs)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed * 31 + 7)
        self._lock = threading.Lock()

    def roll(self) -> ScriptedFault | None:
        """A one-off fault for this request, or None to serve it normally."""
        config = self.config
        if not (config.drop_rate or config.html_502_rate or config.error_rate):
            return None
        with self._lock:
            roll, pick_503 = self._rng.random(), self._rng.random() < 0.5
        if roll < config.drop_rate:
            return ScriptedFault(path="*", drop=True)
        roll -= config.drop_rate
        if roll < config.html_502_rate:
            return ScriptedFault(path="*", status=502, html=True)
        roll -= config.html_502_rate
        if roll < config.error_rate:
            return ScriptedFault(path="*", status=503 if pick_503 else 500)
        return None


def default_error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return dict(RATE_LIMIT_BODY)
    if status == 500:
        return {"statusCode": 500, "message": "Internal server error"}
    return error_body(status, HTTPStatus(status).phrase)


def html_error_page(status: int) -> str:
    if status == 502:
        return NGINX_502_HTML
    title = f"{status} {HTTPStatus(status).phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


def _stringify(query: dict[str, Any] | None) -> dict[str, str]:
    return {key: str(value) for key, value in (query or {}).items()}
