"""`make bench`: run every benchmark, print one table, save it to bench/results/latest.md.

    .venv/bin/python -m bench

Benchmarks measure, they do not assert: a missed target shows as **NO** in the `ok` column
and the exit code stays 0 (a benchmark that crashes shows as an error row and exits 1).
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from bench import bench_rebuild, bench_receiver, bench_sync, bench_tenants
from bench._common import ROOT, Row, format_table

RESULTS = ROOT / "bench" / "results" / "latest.md"

BENCHMARKS: list[tuple[str, Callable[[], list[Row]]]] = [
    ("API sync (full vs floor, budget, incremental)", bench_sync.run),
    ("webhook receiver and 1M-line ingest", bench_receiver.run),
    ("core + analytics rebuild over 1M appointments", bench_rebuild.run),
    ("200 small tenants vs one large tenant", bench_tenants.run),
]


def main() -> int:
    rows: list[Row] = []
    failed = False
    started = time.perf_counter()
    for name, bench in BENCHMARKS:
        print(f"running: {name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            rows += bench()
        except Exception as exc:
            traceback.print_exc()
            rows.append(Row(f"{name}: ERROR", "-", f"{type(exc).__name__}: {exc}"[:200], False))
            failed = True
        print(f"  done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    table = format_table(rows)
    header = (
        f"# Benchmark results\n\n"
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}\n"
        f"- total bench time: {time.perf_counter() - started:.0f} s\n"
    )
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(f"{header}\n{table}\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
