"""Which bookings the simulated company creates through the API, and scoring a metering rule.

No field of the live API marks a booking as created through the API, so the simulator
records it itself: `Tenant.truth().api_created_ids` is the ground truth, decided when each
booking is made and independent of any rule the pipeline applies. The company books like
this:

- Its application books mostly on api-platform users' meeting types (`API_SHARE_OF_API_TYPE`
  of their bookings; the rest come from those users' public booking pages), and on a few
  standard and partner users' meeting types too (`API_TYPE_SHARE`). On every other meeting
  type `API_SHARE_OF_PAGE_TYPE` of the bookings come through the API; resources are never
  booked through it.
- Traces a customer can use to meter exactly, each present on only part of the bookings:
  `API_TYPE_METADATA_SHARE` of the meeting types the application books into carry
  `metadata: {"source": "api"}` (repeated under `meetingType.metadata` of each appointment),
  and `API_NOTES_MARKER_SHARE` of the API bookings have `notes` starting with `[api]`. A note
  with the marker is always an API booking; a type with the metadata also gets booking-page
  bookings.
- The exact path: the application keeps the ids it created; `write_id_csv` writes such a list
  as a one-column CSV (`appointment_id`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA_SOURCE_KEY = "source"
METADATA_API_SOURCE = "api"
API_NOTES_MARKER = "[api]"
ID_CSV_COLUMN = "appointment_id"

API_TYPE_SHARE = 0.12
API_SHARE_OF_API_TYPE = 0.88
API_SHARE_OF_PAGE_TYPE = 0.02
API_TYPE_METADATA_SHARE = 0.6
API_NOTES_MARKER_SHARE = 0.5


@dataclass(frozen=True)
class MeteringScore:
    """How a set of metered appointment ids compares with the ids created through the API."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of the metered bookings that were created through the API (1.0 if none)."""
        metered = self.true_positives + self.false_positives
        return self.true_positives / metered if metered else 1.0

    @property
    def recall(self) -> float:
        """Share of the API-created bookings that were metered (1.0 if there were none)."""
        created = self.true_positives + self.false_negatives
        return self.true_positives / created if created else 1.0


def score_metering(metered: Iterable[str], api_created: Iterable[str]) -> MeteringScore:
    metered_ids, created_ids = set(metered), set(api_created)
    return MeteringScore(
        true_positives=len(metered_ids & created_ids),
        false_positives=len(metered_ids - created_ids),
        false_negatives=len(created_ids - metered_ids),
    )


def write_id_csv(path: Path, ids: Iterable[str], column: str = ID_CSV_COLUMN) -> Path:
    """Write `ids` sorted, one per row under a `column` header; returns `path`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([column])
        writer.writerows([appointment_id] for appointment_id in sorted(set(ids)))
    return path


def main_host_id(appointment: Mapping[str, Any]) -> str | None:
    """The main host as the pipeline reads it: mainHost, else hostIds[0], else hosts[0].id."""
    main_host = (appointment.get("hostingInfo") or {}).get("mainHost")
    if main_host:
        return main_host
    if appointment.get("hostIds"):
        return appointment["hostIds"][0]
    hosts = appointment.get("hosts") or []
    return hosts[0].get("id") if hosts else None


def has_api_trace(appointment: Mapping[str, Any]) -> bool:
    """True when the appointment shows one of the traces above (metadata or notes marker)."""
    metadata = (appointment.get("meetingType") or {}).get("metadata") or {}
    marked = (appointment.get("notes") or "").startswith(API_NOTES_MARKER)
    return marked or metadata.get(METADATA_SOURCE_KEY) == METADATA_API_SOURCE
