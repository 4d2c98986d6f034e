"""Benchmark of many small tenants against one large one: the per-tenant overhead of a sync.

    .venv/bin/python -m bench.bench_tenants [--tenants 200] [--appointments-each 200]

Both contenders are the real `meetergo-pipeline sync --mode full` command in a child process
(Dagster job: API -> raw -> core -> analytics -> published snapshot), against one simulator
in this process without rate limit:

- many: `--tenants` tenants of `--users-each` users and `--appointments-each` appointments,
  listed in a tenants file (`MEETERGO_TENANTS_FILE`), each with its own key;
- one: a single tenant (no tenants file) of `--users-single` users holding as many
  appointments as all the small tenants together.

Target: the many-tenant sync takes at most 3x the single tenant's time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench._common import BIN, Measured, Row, child_env, format_table, run_measured, tail

TARGET_FACTOR = 3.0
SYNC_TIMEOUT_S = 1800.0
UNLIMITED = {
    "MEETERGO_API_BUDGET_SHARE": "1",
    "MEETERGO_API_RATE_LIMIT_PER_MINUTE": "1000000000",
    "MEETERGO_API_RATE_LIMIT_BURST": "1000000000",
}


def run(
    tenants: int = 200,
    appointments_each: int = 200,
    users_each: int = 2,
    users_single: int = 50,
) -> list[Row]:
    from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer

    total = tenants * appointments_each

    def config(seed: int, users: int, appointments: int) -> SimulatorConfig:
        return SimulatorConfig(
            seed=seed, users=users, appointments=appointments, rate_limit_enabled=False
        )

    with SimulatorServer(config(1, users_single, total)) as sim:
        one = _sync(sim.environment())
    with SimulatorServer(config(1000, users_each, appointments_each)) as sim:
        keys = {"t0000": sim.api_key}
        for number in range(1, tenants):
            tenant = sim.add_tenant(config(1000 + number, users_each, appointments_each))
            keys[f"t{number:04d}"] = tenant.api_key
        with tempfile.TemporaryDirectory(prefix="bench-tenants-") as scratch:
            tenants_file = Path(scratch) / "tenants.toml"
            tenants_file.write_text(
                "".join(
                    f'[[tenants]]\nid = "{tenant_id}"\n'
                    f'api_key_env = "{tenant_id.upper()}_MEETERGO_API_KEY"\n\n'
                    for tenant_id in keys
                )
            )
            many = _sync(
                {
                    "MEETERGO_API_BASE_URL": sim.base_url,
                    "MEETERGO_TENANTS_FILE": str(tenants_file),
                    **{f"{t.upper()}_MEETERGO_API_KEY": key for t, key in keys.items()},
                }
            )
    ratio = many.seconds / one.seconds
    return [
        Row(
            f"full sync, {tenants} tenants x {appointments_each:,} appts ({users_each} users "
            f"each) vs 1 tenant x {total:,} appts ({users_single} users)",
            f"<= {TARGET_FACTOR:g}x",
            f"{many.seconds:.1f} s vs {one.seconds:.1f} s = {ratio:.2f}x",
            ratio <= TARGET_FACTOR,
        ),
        Row(
            "  peak RSS of the sync process, many tenants / one",
            "-",
            f"{many.peak_rss_mb:.0f} MB / {one.peak_rss_mb:.0f} MB",
        ),
    ]


def _sync(settings: dict[str, str]) -> Measured:
    """`meetergo-pipeline sync --mode full` in a child, its files in a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="bench-tenants-sync-") as scratch:
        work = Path(scratch)
        env = {
            **settings,
            **UNLIMITED,
            "MEETERGO_DUCKDB_PATH": str(work / "meetergo.duckdb"),
            "MEETERGO_SNAPSHOT_PATH": str(work / "meetergo_analytics.duckdb"),
            "MEETERGO_WEBHOOK_LOG_DIR": str(work / "webhooks"),
            "MEETERGO_API_BUDGET_DIR": str(work / "api_budget"),
        }
        run = run_measured(
            [str(BIN / "meetergo-pipeline"), "sync", "--mode", "full"],
            env=child_env(**env),
            cwd=work,
            timeout_s=SYNC_TIMEOUT_S,
        )
    if run.returncode != 0:
        raise RuntimeError(f"sync failed:\n{tail(run.output)}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--appointments-each", type=int, default=200)
    parser.add_argument("--users-each", type=int, default=2)
    parser.add_argument("--users-single", type=int, default=50)
    args = parser.parse_args(argv)
    rows = run(args.tenants, args.appointments_each, args.users_each, args.users_single)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
