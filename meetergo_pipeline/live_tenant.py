"""The demo environment `run` and `dev` serve without MEETERGO_API_KEY: a live simulated tenant
and a webhook receiver registered with it.

The simulator runs in a child process in live mode (every `live_interval_s` a few bookings
are made, moved and cancelled), the receiver on a free loopback port writes its deliveries
to `MEETERGO_WEBHOOK_LOG_DIR` (the folder the sync ingests), and the receiver is registered
through the API client's webhook calls, as `webhooks register` does against meetergo. Both
stop when the block ends, however it ends (Ctrl-C included). The receiver's token is
`MEETERGO_WEBHOOK_TOKEN` when set, else a fresh one; it is never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from meetergo_pipeline.client import build_client
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.webhooks.receiver import MASKED_PATH
from meetergo_pipeline.webhooks.registration import register_receiver
from meetergo_pipeline.webhooks.server import ReceiverServer
from meetergo_pipeline.webhooks.settings import ReceiverLimits


@dataclass(frozen=True)
class SimulatedTenant:
    """The simulated company `run` and `dev` serve."""

    seed: int = 42
    users: int = 25
    appointments: int = 5000


@contextmanager
def live_tenant(
    settings: Settings, tenant: SimulatedTenant, live_interval_s: float
) -> Iterator[dict[str, str]]:
    """Serve the live simulator and the registered receiver for the block; yields the
    MEETERGO_API_* variables that point the pipeline at the simulator."""
    from meetergo_pipeline.simulator.process import simulator_process

    live = ("--live", "--live-interval", f"{live_interval_s:g}")
    token = settings.webhook_token or secrets.token_urlsafe(32)
    log_dir = settings.webhook_log_dir
    with (
        simulator_process(tenant.seed, tenant.users, tenant.appointments, live) as simulator,
        ReceiverServer(token, log_dir, limits=ReceiverLimits.from_settings(settings)) as receiver,
    ):
        environment = simulator.environment()
        client_settings = Settings.from_env({**os.environ, **environment}).client
        with build_client(client_settings) as client:
            register_receiver(client, receiver.url)
        print(
            f"simulator: {simulator.base_url} ({tenant.users} users, "
            f"{tenant.appointments} appointments, live: changes every {live_interval_s:g} s)"
        )
        print(
            f"webhook receiver: {receiver.base_url}{MASKED_PATH}, registered with the "
            f"simulator, log in {log_dir}",
            flush=True,
        )
        yield environment
