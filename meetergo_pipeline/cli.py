"""`meetergo-pipeline`: run the pipeline, the simulator and the webhook receiver."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from meetergo_pipeline import stop
from meetergo_pipeline.client import Credential, MeetergoError, build_client
from meetergo_pipeline.settings import SETTINGS, Settings, markdown_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        with stop.signals_request_stop(raise_in_main=True):
            code = int(args.handler(args) or 0)
    except (MeetergoError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, stop.StopRequested):
        code = 130
    # Stopped by SIGINT or SIGTERM: the conventional 128 + signal (130, 143), however the
    # command ended.
    return stop.exit_code() or code


def build_parser() -> argparse.ArgumentParser:
    from meetergo_pipeline.simulator.cli import add_simulate_parser
    from meetergo_pipeline.webhooks.cli import add_webhooks_parser

    parser = argparse.ArgumentParser(
        prog="meetergo-pipeline",
        description="Sync the meetergo Platform API and its webhooks into DuckDB with Dagster.",
        epilog="Environment variables (see `settings`): "
        + ", ".join(setting.name for setting in SETTINGS),
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="the main job on the embedded default (simulator when MEETERGO_API_KEY is unset)",
        description="Run the sync job. Without MEETERGO_API_KEY, a simulated tenant is served "
        "on loopback first and the sync is pointed at it.",
    )
    _add_simulator_options(run)
    run.add_argument(
        "--mode",
        choices=["incremental", "full"],
        default="incremental",
        help="sync mode (default: incremental; the first run reads everything)",
    )
    run.set_defaults(handler=_run)

    sync = commands.add_parser(
        "sync",
        help="materialize every asset once through Dagster",
        description="Materialize every asset once (the job the schedules run), print a summary "
        "and exit non-zero on failure. Needs MEETERGO_API_KEY.",
    )
    sync.add_argument(
        "--mode",
        choices=["incremental", "full"],
        default="incremental",
        help="incremental (new bookings + due re-scan) or full (sweep everything)",
    )
    sync.set_defaults(handler=_sync)

    fetch = commands.add_parser(
        "fetch",
        help="read the whole tenant through the client and print counts (no warehouse)",
        description="Read users, meeting types and appointments through the API client and "
        "print what was fetched, the requests spent and the time taken.",
    )
    _add_simulator_options(fetch)
    fetch.set_defaults(handler=_fetch)

    settings = commands.add_parser(
        "settings",
        help="show the settings in effect, or print the README's table of them",
        description="Check every MEETERGO_* variable and show the value in effect (secrets: "
        "only whether they are set); exits non-zero naming each bad variable.",
    )
    settings.add_argument(
        "--markdown",
        action="store_true",
        help="print the table of every setting, its default and meaning (the README's)",
    )
    settings.set_defaults(handler=_settings)
    shell = commands.add_parser(
        "shell",
        help="open the analysts' snapshot in the DuckDB CLI, read-only",
        description="Open the published snapshot (MEETERGO_SNAPSHOT_PATH) read-only in the "
        "DuckDB CLI (`pip install duckdb-cli`). SQL given as arguments runs and exits.",
    )
    shell.add_argument("sql", nargs="*", help="statements to run instead of an interactive session")
    shell.set_defaults(handler=_shell)

    add_simulate_parser(commands)
    add_webhooks_parser(commands)
    return parser


def _add_simulator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--users",
        type=int,
        default=25,
        help="simulated users when MEETERGO_API_KEY is unset (default 25)",
    )
    parser.add_argument(
        "--appointments",
        type=int,
        default=5000,
        help="simulated appointments when MEETERGO_API_KEY is unset (default 5000)",
    )
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")


def _run(args: argparse.Namespace) -> int:
    return _on_embedded_default(args, lambda _settings: _sync(args))


def _fetch(args: argparse.Namespace) -> int:
    return _on_embedded_default(args, _fetch_tenant)


def _settings(args: argparse.Namespace) -> int:
    print(markdown_table() if args.markdown else Settings.from_env().listing())
    return 0


def _on_embedded_default(args: argparse.Namespace, action: Callable[[Settings], int]) -> int:
    """Run `action` against the real API when MEETERGO_API_KEY is set, else a simulator child.

    Settings are checked before the simulator starts, and read again once it has set the
    MEETERGO_API_* variables pointing at it.
    """
    settings = Settings.from_env()
    if settings.api_key:
        return action(settings)
    from meetergo_pipeline.simulator.process import simulator_process

    with simulator_process(seed=args.seed, users=args.users, appointments=args.appointments) as sim:
        print(f"simulator: {sim.base_url} ({args.users} users, {args.appointments} appointments)")
        os.environ.update(sim.environment())
        return action(Settings.from_env())


def _sync(args: argparse.Namespace) -> int:
    from meetergo_pipeline.run_sync import run_sync_job

    Credential.parse(Settings.from_env().api_key or "")
    return run_sync_job(args.mode)


def _shell(args: argparse.Namespace) -> int:
    from meetergo_pipeline.warehouse.snapshot_shell import snapshot_shell_command

    command = snapshot_shell_command(Settings.from_env().snapshot_path, args.sql)
    sys.stdout.flush()
    os.execv(command[0], command)


def _fetch_tenant(settings: Settings) -> int:
    started = time.perf_counter()
    with build_client(settings.client) as client:
        user_ids = [user_id for page in client.fetch_user_pages() for user_id in page.ids]
        meeting_types = sum(len(client.list_meeting_types(user_id)) for user_id in user_ids)
        appointment_ids: set[str] = set()
        for _user_id, page in client.fetch_pages_in_parallel(
            user_ids, client.fetch_appointment_pages, workers=settings.sync_workers
        ):
            appointment_ids.update(page.ids if page else [])
        elapsed = time.perf_counter() - started
        print(f"users:          {len(user_ids)}")
        print(f"meeting types:  {meeting_types}")
        print(f"appointments:   {len(appointment_ids)} distinct")
        print(
            f"requests spent: {client.http.requests_sent} "
            f"({client.http.retries} retried, {client.http.rate_limited} answered 429)"
        )
        print(f"time:           {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
