"""The receiver's connection limits, read from the environment in this one place.

| variable | default | meaning |
|---|---|---|
| ``MEETERGO_WEBHOOK_HEADER_TIMEOUT_S`` | ``10`` | seconds from a connection's start (or the end of its previous response) until a request's headers must be complete |
| ``MEETERGO_WEBHOOK_BODY_TIMEOUT_S`` | ``30`` | seconds from a request's headers until its whole body must have arrived (else 408) |
| ``MEETERGO_WEBHOOK_KEEPALIVE_S`` | ``5`` | seconds an idle keep-alive connection stays open after a response |
| ``MEETERGO_WEBHOOK_MAX_CONNECTIONS`` | ``512`` | open connections at most (lowered to fit the open-file limit); at the limit the oldest idle connection is closed, or the new one gets 503 if none is idle |
"""  # noqa: E501

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

HEADER_TIMEOUT_ENV = "MEETERGO_WEBHOOK_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "MEETERGO_WEBHOOK_BODY_TIMEOUT_S"
KEEPALIVE_ENV = "MEETERGO_WEBHOOK_KEEPALIVE_S"
MAX_CONNECTIONS_ENV = "MEETERGO_WEBHOOK_MAX_CONNECTIONS"


@dataclass(frozen=True)
class ReceiverLimits:
    """How long a connection may take for each phase, and how many may be open at once."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_s: float = 5.0
    max_connections: int = 512


def receiver_limits_from_env(environ: Mapping[str, str] = os.environ) -> ReceiverLimits:
    """The limits from ``environ``; unset or empty variables keep their defaults.

    Raises ``ValueError`` naming the variable when a value is not a positive number.
    """
    defaults = ReceiverLimits()
    return ReceiverLimits(
        header_timeout_s=_seconds(environ, HEADER_TIMEOUT_ENV, defaults.header_timeout_s),
        body_timeout_s=_seconds(environ, BODY_TIMEOUT_ENV, defaults.body_timeout_s),
        keepalive_s=_seconds(environ, KEEPALIVE_ENV, defaults.keepalive_s),
        max_connections=_count(environ, MAX_CONNECTIONS_ENV, defaults.max_connections),
    )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {text!r}")
    return value


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {text!r}")
    return int(text)
