"""What the tenant emits when it changes, and what the webhook dispatcher delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BOOKING_EVENT_TYPES = ("booking_created", "booking_rescheduled", "booking_cancelled")
WEBHOOK_EVENT_TYPES = (
    *BOOKING_EVENT_TYPES,
    "new_employee",
    "form_submission",
    "credential_error",
    "review_submitted",
    "review_published",
    "signature_completed",
)


@dataclass(frozen=True)
class TenantEvent:
    """One change, in the live flat payload shape (`webhookType` plus the entity's fields)."""

    webhook_type: str
    payload: dict[str, Any]
    occurred_at: float  # epoch seconds, the tenant clock


@dataclass(frozen=True)
class DeliveredEvent:
    """One POST attempt to a registered endpoint; `status` is None when the request failed."""

    webhook_id: str
    endpoint: str
    webhook_type: str
    body: dict[str, Any]
    status: int | None
    attempt: int
    duplicate: bool
    legacy_envelope: bool
    delivered_at: float
