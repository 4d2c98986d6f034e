"""`meetergo-pipeline dev` (`make dev`): the Dagster UI over this code location, from a fresh clone.

With MEETERGO_API_KEY set it runs `dagster dev -w workspace.yaml` against the configured API.
Without one it first serves the embedded simulator in live mode (bookings keep being made,
moved and cancelled), starts the webhook receiver on loopback, registers the receiver with
the simulator's webhook API (`live_tenant.py`, shared with `run`), and points the code
location at both, so "Materialize all" syncs the simulated tenant and its webhooks. The
schedules and the sensor then start switched off (`MEETERGO_AUTOMATION=off` unless it is
set): the tenant lives only as long as the session. Either way the instance is the
persistent one `make run` records its runs in (`dagster_home.py`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from meetergo_pipeline.dagster_home import dagster_home, prepare_dagster_home
from meetergo_pipeline.live_tenant import SimulatedTenant, live_tenant
from meetergo_pipeline.settings import Settings, variable

WORKSPACE = Path("workspace.yaml")
LIVE_INTERVAL_S = 10.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DevOptions:
    """Where the UI listens and the simulated tenant served when no API key is set."""

    host: str = "127.0.0.1"
    port: int = 3000
    seed: int = 42
    users: int = 25
    appointments: int = 5000


def serve_dev(options: DevOptions) -> int:
    """Run the UI until it stops (Ctrl-C or SIGTERM); returns `dagster dev`'s exit code.

    Raises ValueError when not started from the project folder (no workspace.yaml) or when a
    setting is invalid.
    """
    settings = Settings.from_env()
    if not WORKSPACE.is_file():
        raise ValueError(
            f"{WORKSPACE} not found in {Path.cwd()}: run `meetergo-pipeline dev` (`make dev`) "
            "from the project folder"
        )
    home = prepare_dagster_home(dagster_home())
    environment = {**os.environ, "DAGSTER_HOME": str(home)}
    print(f"dagster instance: {home}")
    if settings.api_key:
        print(f"api: {settings.api_base_url}")
        return run_dagster_dev(environment, options)
    tenant = SimulatedTenant(options.seed, options.users, options.appointments)
    with live_tenant(settings, tenant, LIVE_INTERVAL_S) as simulated:
        environment.update(simulated)
        if settings.automation is None:
            environment[variable("automation")] = "off"
        return run_dagster_dev(environment, options)


def run_dagster_dev(environment: Mapping[str, str], options: DevOptions) -> int:
    """`dagster dev -w workspace.yaml` in a session of its own, until it exits.

    Ctrl-C (SIGINT) and SIGTERM reach it once, through this process, and it shuts its
    webserver and daemon down gracefully; if it has not exited after `STOP_TIMEOUT_S` it is
    killed.
    """
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(WORKSPACE),
        "--host",
        options.host,
        "--port",
        str(options.port),
    ]
    print(f"dagster UI: http://{options.host}:{options.port}", flush=True)
    process = subprocess.Popen(command, env=dict(environment), start_new_session=True)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    stop_signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, forward) for sig in stop_signals}
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
