"""``webhooks serve``: the receiver in the foreground. Hooked into the main CLI by
``add_webhooks_parser``; also runnable alone as ``python -m meetergo_pipeline.webhooks``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from meetergo_pipeline.settings import DEFAULTS, Settings, variable
from meetergo_pipeline.webhooks.settings import ReceiverLimits

TOKEN_VARIABLE = variable("webhook_token")
LOG_DIR_VARIABLE = variable("webhook_log_dir")
INBOX_VARIABLE = variable("webhook_inbox_url")


def receiver_token(settings: Settings) -> str:
    """The receiver's path token (its format is checked by `Settings.from_env`).

    Raises ValueError naming the variable when it is not set.
    """
    if settings.webhook_token is None:
        raise ValueError(
            f"{TOKEN_VARIABLE} is not set: it is the secret path segment meetergo posts to "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return settings.webhook_token


def add_webhooks_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``webhooks serve``; the handler is stored as ``func`` (returns an exit code)."""
    webhooks = subparsers.add_parser(
        "webhooks",
        help="receive meetergo webhooks into a durable log",
        description=(
            "Receive meetergo webhooks into day-rotated JSONL files under the log dir, or "
            f"into the PostgreSQL inbox of {INBOX_VARIABLE} when it is set."
        ),
    )
    commands = webhooks.add_subparsers(dest="webhooks_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the webhook receiver in the foreground",
        description=(
            f"Serve POST /webhooks/meetergo/<token> and GET /healthz. The token comes from "
            f"{TOKEN_VARIABLE}; put TLS in front of it (meetergo payloads are not signed)."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8766, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    serve.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help=f"where deliveries are stored (default: ${LOG_DIR_VARIABLE} or "
        f"{DEFAULTS.webhook_log_dir}/); unused while ${INBOX_VARIABLE} is set",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until stopped; a bad setting or a port that cannot be bound is one error line."""
    from meetergo_pipeline.webhooks.server import ReceiverBindError, serve

    try:
        settings = Settings.from_env()
        token = receiver_token(settings)
        if settings.webhook_inbox_url is not None:
            from meetergo_pipeline.webhooks.inbox import check_inbox_url

            check_inbox_url(settings.webhook_inbox_url)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        serve(
            token,
            args.log_dir or settings.webhook_log_dir,
            host=args.host,
            port=args.port,
            limits=ReceiverLimits.from_settings(settings),
            inbox_url=settings.webhook_inbox_url,
        )
    except ReceiverBindError as exc:
        from meetergo_pipeline.problems import bind_problem

        print(f"error: {bind_problem(args.host, args.port, exc)}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meetergo_pipeline.webhooks")
    add_webhooks_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["webhooks", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))
