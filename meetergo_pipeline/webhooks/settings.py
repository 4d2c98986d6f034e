"""The receiver's connection limits, taken from the settings table
(`MEETERGO_WEBHOOK_HEADER_TIMEOUT_S`, `..._BODY_TIMEOUT_S`, `..._KEEPALIVE_S`,
`..._MAX_CONNECTIONS`; meanings and defaults in `meetergo_pipeline.settings`)."""

from __future__ import annotations

from dataclasses import dataclass

from meetergo_pipeline.settings import DEFAULTS, Settings


@dataclass(frozen=True)
class ReceiverLimits:
    """How long a connection may take for each phase, and how many may be open at once."""

    header_timeout_s: float = DEFAULTS.webhook_header_timeout_s
    body_timeout_s: float = DEFAULTS.webhook_body_timeout_s
    keepalive_s: float = DEFAULTS.webhook_keepalive_s
    max_connections: int = DEFAULTS.webhook_max_connections

    @classmethod
    def from_settings(cls, settings: Settings) -> ReceiverLimits:
        return cls(
            header_timeout_s=settings.webhook_header_timeout_s,
            body_timeout_s=settings.webhook_body_timeout_s,
            keepalive_s=settings.webhook_keepalive_s,
            max_connections=settings.webhook_max_connections,
        )
