"""Registering the receiver with meetergo's webhook API, idempotently, never showing its token.

The receiver's URL holds its secret path token (`/webhooks/meetergo/<token>`), so a URL is
only ever shown through `masked_endpoint`. meetergo lets a company register at most
`MAX_WEBHOOKS` webhooks; `register_receiver` reuses a registration of the same URL and says
clearly when the limit is reached instead of sending a seventh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meetergo_pipeline.client import MeetergoAPIError, MeetergoClient
from meetergo_pipeline.webhooks.receiver import MASKED_PATH, WEBHOOK_PREFIX

MAX_WEBHOOKS = 6
LIMIT_STATUS = 406
# The event types the pipeline reads: the booking lifecycle and new users.
SUBSCRIBED_EVENTS = ("booking_created", "booking_rescheduled", "booking_cancelled", "new_employee")
DESCRIPTION = "meetergo-pipeline webhook receiver"


class WebhookLimitError(ValueError):
    """The company already has `MAX_WEBHOOKS` webhooks; one must be unregistered first."""

    def __init__(self, existing: int) -> None:
        self.existing = existing
        super().__init__(
            f"meetergo allows at most {MAX_WEBHOOKS} webhooks per company and {existing} are "
            "registered: unregister one with `meetergo-pipeline webhooks unregister ID` "
            "(`webhooks list` shows the ids), then register again"
        )


@dataclass(frozen=True)
class Registration:
    """A webhook as meetergo holds it, and whether this call created it."""

    webhook: dict[str, Any]
    created: bool

    @property
    def id(self) -> str:
        return str(self.webhook["id"])


def masked_endpoint(url: str) -> str:
    """`url` fit to print: the receiver's path token becomes `***` (`/webhooks/meetergo/***`);
    any other path, the query and credentials are hidden as `/***` (they may hold secrets)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.port is not None:
        origin += f":{parts.port}"
    if WEBHOOK_PREFIX in parts.path:
        return origin + parts.path.split(WEBHOOK_PREFIX, 1)[0] + MASKED_PATH
    if parts.path in ("", "/") and not parts.query:
        return origin + parts.path
    return origin + "/***"


def check_endpoint(url: str) -> str:
    """`url` when it is an absolute http(s) URL; else a ValueError saying what to pass."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "--url must be the receiver's absolute URL, "
            f"https://HOST{WEBHOOK_PREFIX}<MEETERGO_WEBHOOK_TOKEN>; got {masked_endpoint(url)!r}"
        )
    return url


def register_receiver(
    client: MeetergoClient,
    endpoint: str,
    event_types: Sequence[str] = SUBSCRIBED_EVENTS,
    description: str = DESCRIPTION,
) -> Registration:
    """Register `endpoint` for `event_types`, or return its existing registration.

    Lists the company's webhooks first: a webhook with the same endpoint is reused as it is
    (`created=False`). Raises `WebhookLimitError` when `MAX_WEBHOOKS` exist (or meetergo
    answers 406 because one was added meanwhile).
    """
    existing = client.list_webhooks()
    for webhook in existing:
        if webhook.get("endpoint") == endpoint:
            return Registration(webhook, created=False)
    if len(existing) >= MAX_WEBHOOKS:
        raise WebhookLimitError(len(existing))
    try:
        webhook = client.register_webhook(endpoint, event_types, description)
    except MeetergoAPIError as error:
        if error.status_code == LIMIT_STATUS:
            raise WebhookLimitError(len(client.list_webhooks())) from None
        raise
    return Registration(webhook, created=True)
