"""Live mode: the tenant keeps changing, as its booking pages and its own application would.

Every `live_interval_s` a few bookings are created (each recorded as made through the API or
a booking page, see `metering`), a few upcoming ones rescheduled and a few cancelled, all
through the tenant's mutations (so webhooks fire as for API calls).
"""

from __future__ import annotations

import random
import threading

from meetergo_pipeline.simulator.appointments import DAY_S
from meetergo_pipeline.simulator.errors import TenantError
from meetergo_pipeline.simulator.tenant import Tenant

LIVE_CANCEL_REASONS = ("Terminkonflikt", "Krank", None)


class LiveDriver:
    """Background thread applying one round of changes per interval."""

    def __init__(self, tenant: Tenant, interval_s: float, seed: int) -> None:
        self.tenant = tenant
        self.interval_s = interval_s
        self.rounds = 0
        self._rng = random.Random(seed * 101 + 11)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="simulator-live", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def step(self) -> None:
        """One round of changes; public so tests can drive it without waiting."""
        rng, tenant = self._rng, self.tenant
        tenant.add_random_bookings(rng.randint(1, 3))
        for appointment_id in tenant.random_appointment_ids(rng.randint(0, 2)):
            new_start = tenant.start_of(appointment_id) + rng.randint(1, 7) * DAY_S
            try:
                tenant.reschedule_appointment(appointment_id, new_start)
            except TenantError:
                continue  # the new slot was taken; a real attendee would pick another day
        for appointment_id in tenant.random_appointment_ids(rng.randint(0, 2)):
            tenant.cancel_appointment(
                appointment_id, reason=rng.choice(LIVE_CANCEL_REASONS), action_source="attendee"
            )
        self.rounds += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.step()
