"""Webhook bodies and the receiver's log as tests build and read them."""

from __future__ import annotations

import json
from pathlib import Path


def booking(event: str = "booking_created", appointment_id: str = "apt-1", **extra: object) -> dict:
    return {
        "webhookType": event,
        "id": appointment_id,
        "start": "2025-03-01T10:00:00+01:00",
        "createdAt": "2025-02-20T08:00:00Z",
        **extra,
    }


def logged(log_dir: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(log_dir.glob("events-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def quarantined(log_dir: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((log_dir / "quarantine").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
