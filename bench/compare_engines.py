"""Compare two Python environments (two DuckDB versions) on the CPU-bound parts of a sync.

    python -m bench.compare_engines --python .venv/bin/python --python .venv-lake/bin/python

For each round and each interpreter, in alternating order so a noisy machine weighs on both
alike: raw rows of `--appointments` appointments are generated, then core and analytics are
rebuilt over them (`bench.bench_rebuild`'s children), and a `--lines`-line webhook log is
ingested (`bench.bench_receiver`'s child). Every child imports this checkout's package (its
PYTHONPATH is this checkout). Prints one JSON line per measurement and a median table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import ROOT, run_measured, tail
from bench.bench_receiver import _write_synthetic_log


def _child(python: str, *args: str) -> tuple[dict, float]:
    """The child's JSON result, with its CPU seconds (user + system, all threads) added, and
    its peak RSS. CPU time is what a busy shared machine distorts least."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_DISABLE_TELEMETRY": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured = run_measured([python, *args], env=env, cwd=ROOT, timeout_s=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if measured.returncode != 0:
        raise RuntimeError(f"{python} {' '.join(args)} failed:\n{tail(measured.output)}")
    result = json.loads(measured.output.strip().splitlines()[-1])
    result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, measured.peak_rss_mb


def _duckdb_version(python: str) -> str:
    probe = [python, "-c", "import duckdb; print(duckdb.__version__)"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def measure(python: str, appointments: int, log_dir: Path, scratch: Path) -> dict:
    db = scratch / "rebuild.duckdb"
    generated, _ = _child(
        python, "-m", "bench.bench_rebuild", "--generate", str(db), str(appointments)
    )
    rebuilt, rebuild_rss = _child(python, "-m", "bench.bench_rebuild", "--rebuild", str(db))
    ingest_db = scratch / "ingest.duckdb"
    script = str(ROOT / "bench" / "bench_receiver.py")
    ingested, ingest_rss = _child(python, script, "--ingest-child", str(log_dir), str(ingest_db))
    return {
        "generate_s": generated["generate_s"],
        "rebuild_s": rebuilt["core_s"] + rebuilt["analytics_s"],
        "core_s": rebuilt["core_s"],
        "analytics_s": rebuilt["analytics_s"],
        "rebuild_rss_mb": rebuild_rss,
        "rebuild_cpu_s": rebuilt["cpu_s"],
        "ingest_s": ingested["seconds"],
        "ingest_cpu_s": ingested["cpu_s"],
        "ingest_rss_mb": ingest_rss,
        "rows": rebuilt["rows"],
        "events": ingested["rows"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    versions = {python: _duckdb_version(python) for python in args.python}
    results: dict[str, list[dict]] = {python: [] for python in args.python}
    with tempfile.TemporaryDirectory(prefix="compare-engines-") as work:
        log_dir = Path(work) / "log"
        log_dir.mkdir()
        _write_synthetic_log(log_dir / "events-2025-03-01.jsonl", args.lines)
        for round_number in range(args.rounds):
            order = args.python if round_number % 2 == 0 else list(reversed(args.python))
            for python in order:
                with tempfile.TemporaryDirectory(dir=work) as scratch:
                    result = measure(python, args.appointments, log_dir, Path(scratch))
                result.update(duckdb=versions[python], round=round_number)
                results[python].append(result)
                print(json.dumps(result), flush=True)
    keys = (
        "rebuild_s",
        "rebuild_cpu_s",
        "rebuild_rss_mb",
        "ingest_s",
        "ingest_cpu_s",
        "ingest_rss_mb",
    )
    print("| duckdb | " + " | ".join(f"median {k}" for k in keys) + " |")
    for python, runs in results.items():
        medians = [f"{statistics.median(r[k] for r in runs):.1f}" for k in keys]
        print(f"| {versions[python]} | " + " | ".join(medians) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
