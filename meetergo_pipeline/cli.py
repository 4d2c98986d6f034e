"""`meetergo-pipeline`: run the pipeline, the simulator and the webhook receiver."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from meetergo_pipeline import stop
from meetergo_pipeline.client import MeetergoError, build_client
from meetergo_pipeline.settings import SETTINGS, Settings, markdown_table
from meetergo_pipeline.tenants import load_tenants, tenant_by_id

# `run`'s demo tenant: seconds between its rounds of bookings, moves and cancellations, and
# how long it books before the sync starts.
DEMO_LIVE_INTERVAL_S = 0.2
DEMO_WARM_UP_S = 4.0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; a failure prints one `error:` line (the traceback too with --verbose)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        with stop.signals_request_stop(raise_in_main=True):
            code = int(args.handler(args) or 0)
    except (KeyboardInterrupt, stop.StopRequested):
        code = 130
    except (MeetergoError, ValueError, OSError, RuntimeError) as exc:
        from meetergo_pipeline.problems import unrecoverable
        from meetergo_pipeline.warehouse.connection import (
            WarehouseCorruptWalError,
            WarehouseLockedError,
        )

        warehouse_errors = (WarehouseCorruptWalError, WarehouseLockedError)
        if isinstance(exc, RuntimeError) and not isinstance(exc, warehouse_errors):
            raise
        if args.verbose:
            traceback.print_exc()
        print(f"error: {unrecoverable(exc) or exc}", file=sys.stderr)
        code = 2
    # Stopped by SIGINT or SIGTERM: the conventional 128 + signal (130, 143), however the
    # command ended.
    return stop.exit_code() or code


def run_command_line() -> None:
    """The `meetergo-pipeline` console script: `main`, then end the process at once.

    Every command closes what it opened (warehouse connections, files, child processes,
    worker threads) before `main` returns. What would remain is the interpreter's teardown,
    freeing the imported Dagster, SQLAlchemy and DuckDB modules one object at a time (most
    of a second after a sync). So unless another non-daemon thread is still running (then it
    exits the usual way, which waits for that thread), the exit handlers run, the standard
    streams are flushed and `os._exit` ends the process with `main`'s code.
    In-process callers (the tests) call `main`.
    """
    code = main()
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    from meetergo_pipeline.simulator.cli import add_simulate_parser
    from meetergo_pipeline.webhooks.cli import add_webhooks_parser

    parser = argparse.ArgumentParser(
        prog="meetergo-pipeline",
        description="Sync the meetergo Platform API and its webhooks into DuckDB with Dagster.",
        epilog="Environment variables (see `settings`): "
        + ", ".join(setting.name for setting in SETTINGS),
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show tracebacks and Dagster's full log lines"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="the main job on the embedded default (simulator when MEETERGO_API_KEY is unset)",
        description="Run the sync job. Without MEETERGO_API_KEY, a live simulated tenant and "
        "a webhook receiver registered with it are served on loopback first (bookings keep "
        "being made, moved and cancelled, and their webhooks arrive), and the sync is "
        "pointed at both.",
    )
    _add_simulator_options(run)
    _add_verbose_option(run)
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
    sync.add_argument(
        "--tenant",
        metavar="ID",
        help="sync only this tenant of MEETERGO_TENANTS_FILE (default: every tenant)",
    )
    _add_verbose_option(sync)
    sync.set_defaults(handler=_sync)

    check = commands.add_parser(
        "check",
        help="check every setting and probe the API, the folders, the lock and the schedules",
        description="Check every MEETERGO_* variable, then probe the API key, the base URL "
        "and the acting user (one request each, no retries), the folders the pipeline writes, "
        "whether another process holds the working file, the schedules and, with "
        "--receiver-port, the receiver's port. Prints one line per check; exits 2 if any "
        "fails. Takes a few seconds.",
    )
    check.add_argument(
        "--receiver-port", type=int, help="also check that the webhook receiver can listen here"
    )
    check.add_argument(
        "--receiver-host",
        default="127.0.0.1",
        help="interface of --receiver-port (default: %(default)s)",
    )
    _add_verbose_option(check)
    check.set_defaults(handler=_check)
    dev = commands.add_parser(
        "dev",
        help="the Dagster UI (`dagster dev`), on a simulator when MEETERGO_API_KEY is unset",
        description="Run `dagster dev -w workspace.yaml` from the project folder with the "
        "instance in DAGSTER_HOME (default data/dagster_home, where `run` records its runs). "
        "Without MEETERGO_API_KEY, a simulated tenant is served on loopback in live mode, a "
        "webhook receiver is registered with it, and the schedules and the sensor start off.",
    )
    dev.add_argument("--host", default="127.0.0.1", help="UI interface (default: %(default)s)")
    dev.add_argument("--port", type=int, default=3000, help="UI port (default: %(default)s)")
    _add_simulator_options(dev)
    dev.set_defaults(handler=_dev)

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
    docs = commands.add_parser(
        "docs",
        help="write the analysts' data dictionary from the published tables' comments",
        description="Build an empty warehouse at the default settings, publish it and write "
        "every published table and column with its comment as markdown.",
    )
    docs.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write (default: docs/data-dictionary.md)",
    )
    docs.set_defaults(handler=_docs)
    shell = commands.add_parser(
        "shell",
        help="open the analysts' snapshot in the DuckDB CLI, read-only",
        description="Open the published snapshot (MEETERGO_SNAPSHOT_PATH) read-only in the "
        "DuckDB CLI (`pip install duckdb-cli`). SQL given as arguments runs and exits.",
    )
    shell.add_argument("sql", nargs="*", help="statements to run instead of an interactive session")
    shell.set_defaults(handler=_shell)
    report = commands.add_parser(
        "report",
        help="write the HTML report of the published snapshot",
        description="Render the bookings report, one self-contained HTML page that fetches "
        "nothing, from the published snapshot (MEETERGO_SNAPSHOT_PATH), read-only. Every "
        "successful sync writes it too.",
    )
    report.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the page (default: meetergo_report.html beside the snapshot)",
    )
    report.set_defaults(handler=_report)

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


def _add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """`--verbose` after the command too (`sync --verbose`), same as before it."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and Dagster's full log lines",
    )


def _run(args: argparse.Namespace) -> int:
    """The sync against MEETERGO_API_KEY's API; without a key, the demo of both halves.

    The demo serves the live simulated tenant with a registered receiver (`live_tenant`),
    lets it book, move and cancel for `DEMO_WARM_UP_S` while the webhooks arrive, then syncs
    with live mode still running: the run ingests the webhook log (core.booking_events) and
    reads the API.
    """
    settings = Settings.from_env()
    if settings.api_key:
        return _sync(args)
    from meetergo_pipeline.live_tenant import SimulatedTenant, live_tenant

    tenant = SimulatedTenant(args.seed, args.users, args.appointments)
    with live_tenant(settings, tenant, DEMO_LIVE_INTERVAL_S) as environment:
        os.environ.update(environment)
        print(f"letting the tenant book for {DEMO_WARM_UP_S:g} s, then syncing", flush=True)
        time.sleep(DEMO_WARM_UP_S)
        return _sync(args)


def _dev(args: argparse.Namespace) -> int:
    from meetergo_pipeline.dev import DevOptions, serve_dev

    options = DevOptions(args.host, args.port, args.seed, args.users, args.appointments)
    return serve_dev(options)


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


def _check(args: argparse.Namespace) -> int:
    from meetergo_pipeline.preflight import check_all

    receiver = None if args.receiver_port is None else (args.receiver_host, args.receiver_port)
    findings = check_all(receiver=receiver)
    for finding in findings:
        if finding.ok:
            print(f"ok: {finding.text}")
        else:
            print(f"error: {finding.text}", file=sys.stderr)
    return 0 if all(finding.ok for finding in findings) else 2


def _sync(args: argparse.Namespace) -> int:
    """The preflight's sync checks, then the job; a failed check stops it with its line."""
    from meetergo_pipeline.preflight import check_for_sync, failures
    from meetergo_pipeline.run_sync import run_sync_job

    problems = failures(check_for_sync())
    for problem in problems:
        print(f"error: {problem.text}", file=sys.stderr)
    if problems:
        return 2
    tenant = getattr(args, "tenant", None)
    if tenant is not None:
        try:
            tenant_by_id(load_tenants(Settings.from_env()), tenant)
        except ValueError as error:
            print(f"error: --tenant: {error}", file=sys.stderr)
            return 2
    # `run` (the demo) records its runs where `make dev` shows them; `sync` does too when
    # DAGSTER_HOME is set.
    return run_sync_job(
        args.mode, verbose=args.verbose, persistent=args.handler is _run, tenant=tenant
    )


def _docs(args: argparse.Namespace) -> int:
    from meetergo_pipeline.data_dictionary import DEFAULT_OUTPUT, write_data_dictionary

    print(f"wrote {write_data_dictionary(args.output or DEFAULT_OUTPUT)}")
    return 0


def _shell(args: argparse.Namespace) -> int:
    from meetergo_pipeline.warehouse.snapshot_shell import snapshot_shell_command

    command = snapshot_shell_command(Settings.from_env().snapshot_path, args.sql)
    sys.stdout.flush()
    os.execv(command[0], command)


def _report(args: argparse.Namespace) -> int:
    from meetergo_pipeline.report import write_report

    settings = Settings.from_env()
    path = write_report(
        settings.snapshot_path,
        args.output,
        reconciliation_warn_threshold=settings.reconciliation_warn_threshold,
    )
    print(f"report: {path}")
    return 0


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
    run_command_line()
