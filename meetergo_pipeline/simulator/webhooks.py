"""Webhook delivery as meetergo does it: POST, at least once, not always in order.

The dispatcher listens to tenant events and schedules one delivery per registered endpoint
subscribed to the event type. Some deliveries are sent twice (`duplicate_rate`), some held
back for `reorder_delay_s` so later events overtake them (`reorder_rate`), and failed ones
(non-2xx or a transport error) are retried up to `webhook_max_attempts` times. Every attempt
is appended to `tenant.delivered_events`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.events import DeliveredEvent, TenantEvent
from meetergo_pipeline.simulator.isotime import format_iso
from meetergo_pipeline.simulator.tenant import Tenant

DUPLICATE_LAG_S = 0.05


@dataclass
class _Delivery:
    webhook_id: str
    endpoint: str
    webhook_type: str
    body: dict[str, Any]
    duplicate: bool
    legacy_envelope: bool
    attempt: int = 1


class WebhookDispatcher:
    """Background thread that POSTs tenant events to the registered endpoints."""

    def __init__(self, tenant: Tenant, config: SimulatorConfig) -> None:
        self.tenant = tenant
        self.config = config
        self._rng = random.Random(config.seed * 13 + 5)
        self._queue: list[tuple[float, int, _Delivery]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.tenant.add_listener(self.on_event)
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.tenant.remove_listener(self.on_event)
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until nothing is queued or being sent (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
        return True

    def on_event(self, event: TenantEvent) -> None:
        """Tenant listener (called under the tenant lock): schedule, never send here."""
        for webhook in list(self.tenant.webhooks.values()):
            if event.webhook_type not in webhook["eventTypes"]:
                continue
            legacy = self._rng.random() < self.config.legacy_envelope_rate
            body = legacy_envelope(event) if legacy else event.payload
            held_back = self._rng.random() < self.config.reorder_rate
            delay = self.config.reorder_delay_s if held_back else 0.0
            copies = 2 if self._rng.random() < self.config.duplicate_rate else 1
            for copy in range(copies):
                delivery = _Delivery(
                    webhook["id"], webhook["endpoint"], event.webhook_type, body, copy > 0, legacy
                )
                self._schedule(delivery, delay + copy * DUPLICATE_LAG_S)

    def _schedule(self, delivery: _Delivery, delay_s: float) -> None:
        with self._condition:
            due = time.monotonic() + delay_s
            heapq.heappush(self._queue, (due, next(self._sequence), delivery))
            self._condition.notify_all()

    def _run(self) -> None:
        with httpx.Client(timeout=self.config.webhook_timeout_s) as client:
            while True:
                delivery = self._next_due()
                if delivery is None:
                    return
                try:
                    self._send(client, delivery)
                finally:
                    with self._condition:
                        self._in_flight -= 1
                        self._condition.notify_all()

    def _next_due(self) -> _Delivery | None:
        with self._condition:
            while not self._stopping:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2]
                wait = self._queue[0][0] - time.monotonic() if self._queue else None
                self._condition.wait(wait)
            return None

    def _send(self, client: httpx.Client, delivery: _Delivery) -> None:
        status: int | None
        try:
            status = client.post(delivery.endpoint, json=delivery.body).status_code
        except httpx.HTTPError:
            status = None
        record = DeliveredEvent(
            webhook_id=delivery.webhook_id,
            endpoint=delivery.endpoint,
            webhook_type=delivery.webhook_type,
            body=delivery.body,
            status=status,
            attempt=delivery.attempt,
            duplicate=delivery.duplicate,
            legacy_envelope=delivery.legacy_envelope,
            delivered_at=time.time(),
        )
        with self.tenant.lock:
            self.tenant.delivered_events.append(record)
        succeeded = status is not None and 200 <= status < 300
        if not succeeded and delivery.attempt < self.config.webhook_max_attempts:
            delivery.attempt += 1
            self._schedule(delivery, self.config.webhook_retry_delay_s * (delivery.attempt - 1))


def legacy_envelope(event: TenantEvent) -> dict[str, Any]:
    """The older `{event, timestamp, data}` shape from the platform overview page."""
    payload = {k: v for k, v in event.payload.items() if k != "webhookType"}
    entity_id = payload.pop("id", None)
    if event.webhook_type == "new_employee":
        data = {"userId": entity_id, **payload}
    else:
        attendees = payload.get("attendees") or [{}]
        first = attendees[0]
        data = {
            "appointmentId": entity_id,
            **payload,
            "attendee": {k: first.get(k) for k in ("email", "firstname", "lastname")},
        }
    return {"event": event.webhook_type, "timestamp": format_iso(event.occurred_at), "data": data}
