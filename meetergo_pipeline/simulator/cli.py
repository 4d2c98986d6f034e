"""`meetergo-pipeline simulate`: serve the simulated API in the foreground until Ctrl-C.

The main CLI calls `add_simulate_parser(subparsers)`; the parsed namespace carries
`handler=run_simulate`. Standalone: `python -m meetergo_pipeline.simulator.cli --port 8765`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.server import SimulatorServer


def add_simulate_parser(subparsers: Any) -> None:
    """Register `simulate` on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "simulate",
        help="serve a simulated meetergo API (deterministic tenant) in the foreground",
        description="Serve a simulated meetergo API. Prints MEETERGO_API_BASE_URL, "
        "MEETERGO_API_KEY, MEETERGO_API_USER_ID (the admin), MEETERGO_SIM_PERSONAL_TOKEN (a "
        "standard user's) and MEETERGO_SIM_ADMIN_PERSONAL_TOKEN (the admin's) as KEY=value "
        "lines on stdout; Ctrl-C stops.",
    )
    add_simulate_arguments(parser)
    parser.set_defaults(handler=run_simulate)


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SimulatorConfig()
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    add("--seed", type=int, default=defaults.seed, help="tenant seed (default: %(default)s)")
    add("--users", type=int, default=defaults.users, help="users (default: %(default)s)")
    add(
        "--appointments",
        type=int,
        default=defaults.appointments,
        help="appointments (default: %(default)s)",
    )
    add("--no-rate-limit", action="store_true", help="disable the per-key token bucket")
    add(
        "--rate-limit-per-minute",
        type=int,
        default=defaults.rate_limit_per_minute,
        help="token refill per minute (default: %(default)s)",
    )
    add(
        "--rate-limit-burst",
        type=int,
        default=defaults.rate_limit_burst,
        help="bucket capacity (default: %(default)s)",
    )
    add(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of requests answered 500/503 JSON (default: %(default)s)",
    )
    add(
        "--html-502-rate",
        type=float,
        default=0.0,
        help="share of requests answered 502 with an nginx HTML page (default: %(default)s)",
    )
    add("--latency-ms", type=int, default=0, help="added latency per request (default: 0)")
    add(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of connections closed without a response (default: %(default)s)",
    )
    add(
        "--legacy-user-name-share",
        type=float,
        default=defaults.legacy_user_name_share,
        help="share of users served with the older firstname/lastname fields "
        "(default: %(default)s)",
    )
    add(
        "--live",
        action="store_true",
        help="keep creating, rescheduling and cancelling bookings, delivering webhooks",
    )
    add(
        "--live-interval",
        type=float,
        default=defaults.live_interval_s,
        help="seconds between live-mode rounds (default: %(default)s)",
    )


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        seed=args.seed,
        users=args.users,
        appointments=args.appointments,
        rate_limit_enabled=not args.no_rate_limit,
        rate_limit_per_minute=args.rate_limit_per_minute,
        rate_limit_burst=args.rate_limit_burst,
        error_rate=args.error_rate,
        html_502_rate=args.html_502_rate,
        latency_ms=args.latency_ms,
        drop_rate=args.drop_rate,
        live=args.live,
        live_interval_s=args.live_interval,
        legacy_user_name_share=args.legacy_user_name_share,
    )


def run_simulate(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit code."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with SimulatorServer(config_from_args(args), host=args.host, port=args.port) as sim:
        for name, value in sim.environment().items():
            print(f"{name}={value}")
        print(f"MEETERGO_SIM_PERSONAL_TOKEN={sim.personal_token}")
        print(f"MEETERGO_SIM_ADMIN_PERSONAL_TOKEN={sim.admin_personal_token}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meetergo-simulator")
    add_simulate_arguments(parser)
    return run_simulate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
