"""Settings of one simulated meetergo tenant and the faults its API injects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetergo_pipeline.simulator.isotime import parse_iso, utc_now_truncated_to_hour


@dataclass
class SimulatorConfig:
    """Everything that shapes the simulator; the same seed always yields the same tenant.

    `anchor` is "now" for data generation (ISO string, datetime or epoch seconds); by default
    the current UTC time truncated to the hour. Fault rates are probabilities per request.
    `legacy_user_name_share` of the users (never the owner) come with the older
    `firstname`/`lastname` fields instead of `givenName`/`familyName`.
    """

    seed: int = 42
    users: int = 25
    appointments: int = 5000
    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = 100
    rate_limit_burst: int = 200
    retry_after_probability: float = 0.5
    error_rate: float = 0.0
    html_502_rate: float = 0.0
    latency_ms: int = 0
    drop_rate: float = 0.0
    live: bool = False
    live_interval_s: float = 1.0
    anchor: str | datetime | float | None = None
    legacy_user_name_share: float = 0.0
    # Webhook delivery: at-least-once, sometimes out of order, optionally the old envelope.
    duplicate_rate: float = 0.1
    reorder_rate: float = 0.1
    reorder_delay_s: float = 0.3
    legacy_envelope_rate: float = 0.0
    webhook_timeout_s: float = 30.0
    webhook_max_attempts: int = 3
    webhook_retry_delay_s: float = 0.5

    def anchor_epoch(self) -> float:
        """The generation anchor as epoch seconds."""
        if self.anchor is None:
            return utc_now_truncated_to_hour()
        if isinstance(self.anchor, datetime):
            return parse_iso(self.anchor.isoformat())
        if isinstance(self.anchor, int | float):
            return float(self.anchor)
        return parse_iso(self.anchor)
