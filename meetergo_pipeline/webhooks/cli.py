"""``webhooks serve``: the receiver in the foreground. Hooked into the main CLI by
``add_webhooks_parser``; also runnable alone as ``python -m meetergo_pipeline.webhooks``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from meetergo_pipeline.webhooks.receiver import MIN_TOKEN_LENGTH
from meetergo_pipeline.webhooks.settings import receiver_limits_from_env

TOKEN_ENV = "MEETERGO_WEBHOOK_TOKEN"
LOG_DIR_ENV = "MEETERGO_WEBHOOK_LOG_DIR"
DEFAULT_LOG_DIR = Path("data/webhooks")


class WebhookConfigError(Exception):
    """A setting is missing or unusable; the message names the variable, never its value."""


def token_from_env(environ: Mapping[str, str] = os.environ) -> str:
    token = environ.get(TOKEN_ENV, "")
    if not token:
        raise WebhookConfigError(
            f"{TOKEN_ENV} is not set: it is the secret path segment meetergo posts to "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if len(token) < MIN_TOKEN_LENGTH or "/" in token:
        raise WebhookConfigError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} URL-safe characters without '/'"
        )
    return token


def log_dir_from_env(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(LOG_DIR_ENV) or DEFAULT_LOG_DIR)


def add_webhooks_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``webhooks serve``; the handler is stored as ``func`` (returns an exit code)."""
    webhooks = subparsers.add_parser(
        "webhooks",
        help="receive meetergo webhooks into a durable log",
        description="Receive meetergo webhooks into day-rotated JSONL files under the log dir.",
    )
    commands = webhooks.add_subparsers(dest="webhooks_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the webhook receiver in the foreground",
        description=(
            f"Serve POST /webhooks/meetergo/<token> and GET /healthz. The token comes from "
            f"{TOKEN_ENV}; put TLS in front of it (meetergo payloads are not signed)."
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
        help=f"where deliveries are stored (default: ${LOG_DIR_ENV} or {DEFAULT_LOG_DIR}/)",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from meetergo_pipeline.webhooks.server import serve

    try:
        token = token_from_env()
        limits = receiver_limits_from_env()
    except (WebhookConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_dir = args.log_dir or log_dir_from_env()
    serve(token, log_dir, host=args.host, port=args.port, limits=limits)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meetergo_pipeline.webhooks")
    add_webhooks_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["webhooks", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))
