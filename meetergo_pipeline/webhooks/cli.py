"""``webhooks serve`` (the receiver in the foreground) and ``webhooks register | list |
unregister`` (its registration with meetergo's webhook API). Hooked into the main CLI by
``add_webhooks_parser``; also runnable alone as ``python -m meetergo_pipeline.webhooks``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from meetergo_pipeline.settings import DEFAULTS, Settings, variable
from meetergo_pipeline.webhooks.settings import ReceiverLimits

if TYPE_CHECKING:
    from meetergo_pipeline.client import MeetergoClient

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
    """Add ``webhooks serve | register | list | unregister``; each handler, stored as
    ``handler``, returns an exit code."""
    webhooks = subparsers.add_parser(
        "webhooks",
        help="receive meetergo webhooks into a durable log; register the receiver",
        description=(
            "Receive meetergo webhooks into day-rotated JSONL files under the log dir, or "
            f"into the PostgreSQL inbox of {INBOX_VARIABLE} when it is set; register the "
            "receiver with meetergo's webhook API (MEETERGO_API_KEY)."
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
    add_registration_parsers(commands)


def add_registration_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``webhooks register``, ``list`` and ``unregister``, through the API client."""
    from meetergo_pipeline.webhooks.registration import MAX_WEBHOOKS, SUBSCRIBED_EVENTS

    register = commands.add_parser(
        "register",
        help="register the receiver's URL with meetergo (reuses an existing registration)",
        description=(
            "Register the receiver with meetergo's webhook API (POST /webhooks) for the "
            "given event types. A registration of the same URL is reused and reported as "
            f"already registered; meetergo allows at most {MAX_WEBHOOKS} per company. The "
            "URL holds the receiver's token and is only ever shown masked."
        ),
    )
    register.add_argument(
        "--url",
        required=True,
        help=f"the receiver's public URL, https://HOST/webhooks/meetergo/${TOKEN_VARIABLE}",
    )
    register.add_argument(
        "--events",
        nargs="+",
        default=list(SUBSCRIBED_EVENTS),
        metavar="TYPE",
        help="event types to subscribe to (default: %(default)s)",
    )
    register.set_defaults(handler=run_register)
    listing = commands.add_parser(
        "list",
        help="list the company's webhooks (id, masked endpoint, event types)",
        description="List the company's webhook registrations (GET /webhooks); endpoints are "
        "shown with their path masked.",
    )
    listing.set_defaults(handler=run_list)
    unregister = commands.add_parser(
        "unregister",
        help="remove a webhook registration by its id",
        description="Remove a webhook registration (DELETE /webhooks/ID); `webhooks list` "
        "shows the ids.",
    )
    unregister.add_argument("webhook_id", metavar="ID", help="the webhook's id")
    unregister.set_defaults(handler=run_unregister)


def run_register(args: argparse.Namespace) -> int:
    """Register `--url`, or report its existing registration; one line either way."""
    from meetergo_pipeline.webhooks.registration import (
        check_endpoint,
        masked_endpoint,
        register_receiver,
    )

    endpoint = check_endpoint(args.url)
    with _client() as client:
        registration = register_receiver(client, endpoint, args.events)
    state = "registered" if registration.created else "already registered"
    events = ", ".join(registration.webhook.get("eventTypes") or [])
    print(f"{state}: {registration.id} {masked_endpoint(endpoint)} ({events})")
    return 0


def run_list(_args: argparse.Namespace) -> int:
    """One line per webhook: id, masked endpoint, event types."""
    from meetergo_pipeline.webhooks.registration import MAX_WEBHOOKS, masked_endpoint

    with _client() as client:
        webhooks = client.list_webhooks()
    for webhook in webhooks:
        events = ", ".join(webhook.get("eventTypes") or [])
        print(f"{webhook.get('id')}  {masked_endpoint(str(webhook.get('endpoint')))}  {events}")
    print(f"{len(webhooks)} of at most {MAX_WEBHOOKS} webhooks registered")
    return 0


def run_unregister(args: argparse.Namespace) -> int:
    """Remove one registration; an unknown id is a MeetergoNotFoundError (exit 2)."""
    from meetergo_pipeline.webhooks.registration import masked_endpoint

    with _client() as client:
        removed = client.unregister_webhook(args.webhook_id)
    endpoint = masked_endpoint(str(removed.get("endpoint"))) if removed else "?"
    print(f"unregistered: {args.webhook_id} {endpoint}")
    return 0


def _client() -> MeetergoClient:
    from meetergo_pipeline.client import build_client

    return build_client(Settings.from_env().client)


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
    from meetergo_pipeline.client import MeetergoError

    try:
        return int(args.handler(args))
    except (MeetergoError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
