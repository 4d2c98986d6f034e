"""The simulator in a child process, for the CLI's embedded default.

A separate process keeps the simulator's JSON work off the pipeline's GIL and lets Dagster
run workers in other processes reach it like the real API. It runs `simulate` with port 0 and
reads the KEY=value lines it prints.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

STARTUP_TIMEOUT_S = 120.0
PRINTED_LINES = 5


class SimulatorProcess:
    """A running `python -m meetergo_pipeline.simulator.cli` child and what it printed."""

    def __init__(self, process: subprocess.Popen[str], printed: dict[str, str]) -> None:
        self.process = process
        self.printed = printed

    @property
    def base_url(self) -> str:
        return self.printed["MEETERGO_API_BASE_URL"]

    @property
    def api_key(self) -> str:
        return self.printed["MEETERGO_API_KEY"]

    @property
    def admin_user_id(self) -> str:
        return self.printed["MEETERGO_API_USER_ID"]

    @property
    def personal_token(self) -> str:
        return self.printed["MEETERGO_SIM_PERSONAL_TOKEN"]

    @property
    def admin_personal_token(self) -> str:
        return self.printed["MEETERGO_SIM_ADMIN_PERSONAL_TOKEN"]

    def environment(self) -> dict[str, str]:
        """MEETERGO_API_BASE_URL, MEETERGO_API_KEY and MEETERGO_API_USER_ID for the pipeline."""
        names = ("MEETERGO_API_BASE_URL", "MEETERGO_API_KEY", "MEETERGO_API_USER_ID")
        return {name: self.printed[name] for name in names}

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def simulator_process(
    seed: int = 42, users: int = 25, appointments: int = 5000, extra_args: Sequence[str] = ()
) -> Iterator[SimulatorProcess]:
    """Serve a simulated tenant on a free loopback port for the duration of the block.

    `extra_args` are further `simulate` flags, e.g. ("--no-rate-limit", "--live").
    """
    command = [
        sys.executable,
        "-m",
        "meetergo_pipeline.simulator.cli",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--users",
        str(users),
        "--appointments",
        str(appointments),
        *extra_args,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    running = SimulatorProcess(process, {})
    try:
        running.printed = _read_printed(process)
        yield running
    finally:
        running.stop()


def _read_printed(process: subprocess.Popen[str]) -> dict[str, str]:
    """The child's KEY=value lines, read on a helper thread so a hung child cannot block us.

    (Selecting on the pipe does not work with a buffered reader: after the first readline the
    remaining lines sit in Python's buffer, not in the pipe.)
    """
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()

    def forward_lines() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=forward_lines, daemon=True).start()
    printed: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while len(printed) < PRINTED_LINES:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the simulator exited early (code {process.returncode})"
                ) from None
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start in time") from None
            continue
        name, _, value = line.strip().partition("=")
        if name:
            printed[name] = value
    return printed
