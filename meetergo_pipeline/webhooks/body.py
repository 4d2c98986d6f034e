"""The event type and appointment id of a webhook body, read the way the ingest reads them.

The ingest's SQL (``sql/webhooks/canonical_events.sql``) is the owner of the body's shapes;
this is its mirror for the receiver, which never opens DuckDB and must decide "booking event
without an appointment id" by the same rule. A test feeds the same bodies through both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_SYNONYMS = {
    "booking_new": "booking_created",
    "appointment_created": "booking_created",
    "appointment_rescheduled": "booking_rescheduled",
    "booking_canceled": "booking_cancelled",
    "appointment_cancelled": "booking_cancelled",
    "appointment_canceled": "booking_cancelled",
}
_NOT_A_NAME_CHARACTER = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class BodyKeys:
    payload_format: str  # flat | legacy
    event_type_as_sent: str | None
    event_type: str  # folded
    appointment_id: str | None  # booking_* events only

    @property
    def is_booking(self) -> bool:
        return self.event_type.startswith("booking_")


def read_body_keys(body: dict[str, Any]) -> BodyKeys:
    """Type and appointment id of a flat (``webhookType``) or legacy (``event``) body."""
    sent = body.get("webhookType")
    is_legacy = sent is None and body.get("event") is not None
    if sent is None:
        sent = body.get("event")
    as_sent = _as_text(sent)
    event_type = fold_event_type(as_sent)
    appointment_id = None
    if event_type.startswith("booking_"):
        if is_legacy:
            data = body.get("data")
            fields = data if isinstance(data, dict) else body
            appointment_id = _id(fields, "appointmentId") or _id(fields, "id")
        else:
            appointment_id = _id(body, "id")
    return BodyKeys("legacy" if is_legacy else "flat", as_sent, event_type, appointment_id)


def fold_event_type(as_sent: str | None) -> str:
    """Lower-case, runs of other characters than a-z/0-9 as one ``_``, synonyms mapped."""
    spelling = _NOT_A_NAME_CHARACTER.sub("_", (as_sent or "").lower()).strip("_")
    return _SYNONYMS.get(spelling, spelling) or "unknown"


def first_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` object hook: a repeated key keeps its first value, as DuckDB reads it."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        obj.setdefault(key, value)
    return obj


def _id(fields: dict[str, Any], key: str) -> str | None:
    return _as_text(fields.get(key)) or None


def _as_text(value: object) -> str | None:
    """A JSON value as DuckDB's ``json_transform`` turns it into VARCHAR."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
