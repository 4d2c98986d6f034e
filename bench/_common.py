"""Helpers shared by the benchmarks: result rows, measured child processes, the table."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class Row:
    """One line of the results table; `ok` is True/False for a target, None for context."""

    figure: str
    target: str
    measured: str
    ok: bool | None = None

    def cells(self) -> tuple[str, str, str, str]:
        verdict = "-" if self.ok is None else ("yes" if self.ok else "**NO**")
        return self.figure, self.target, self.measured, verdict


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss_mb: float
    output: str


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 600.0,
) -> Measured:
    """Run a child to completion; its wall time and its own peak RSS.

    The peak is the child's `VmHWM` (high-water RSS of its own address space), polled from
    /proc while it runs. `ru_maxrss` from wait4 is not used: Linux folds the address space a
    child had *before* exec into it, and with vfork that is this benchmark process, so a
    child started by a large parent reported the parent's peak.
    """
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-child-{os.getpid()}.log"
    with log_path.open("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        peak_kb = 0
        status_path = Path(f"/proc/{process.pid}/status")
        deadline = started + timeout_s
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(status_path))
            if time.perf_counter() > deadline:
                process.kill()
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    log_path.unlink(missing_ok=True)
    return Measured(process.returncode, seconds, peak_kb / 1024, output)


def _high_water_kb(status_path: Path) -> int:
    try:
        for line in status_path.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def child_env(**overrides: str) -> dict[str, str]:
    """The current environment without Dagster/meetergo settings, plus `overrides`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEETERGO_", "DAGSTER_HOME")) and k != "PYTHONPATH"
    }
    env["DAGSTER_DISABLE_TELEMETRY"] = "1"
    env.update(overrides)
    return env


def format_table(rows: Sequence[Row]) -> str:
    header = ("figure", "target", "measured", "ok")
    cells = [header, *(row.cells() for row in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells[1:]:
        lines.append("| " + " | ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)) + " |")
    return "\n".join(lines)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
