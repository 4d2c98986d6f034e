"""The preflight's checks of what runs beside a sync: the schedules and the receiver.

The schedules pass when Dagster builds them from the settings; the receiver passes when its
token is set and its port can be bound the way the receiver binds it.
"""

from __future__ import annotations

import socket

from meetergo_pipeline.preflight.finding import Finding
from meetergo_pipeline.problems import bind_problem
from meetergo_pipeline.settings import Settings, variable


def schedule_finding(settings: Settings) -> Finding:
    """The schedules as Dagster builds them (the crons are checked when settings are read)."""
    from meetergo_pipeline.defs.jobs import build_schedules

    zone = variable("schedule_timezone")
    try:
        build_schedules(
            settings.sync_cron, settings.full_sweep_cron, settings.schedule_timezone, running=False
        )
    except Exception as error:  # Dagster's definition errors have no common public base
        return Finding(
            False,
            f"{zone}={settings.schedule_timezone!r} is not a time zone Dagster knows "
            f"({type(error).__name__}): use an IANA name such as UTC or Europe/Berlin",
        )
    return Finding(
        True,
        f"schedules: {variable('sync_cron')} {settings.sync_cron!r}, "
        f"{variable('full_sweep_cron')} {settings.full_sweep_cron!r} in "
        f"{settings.schedule_timezone}",
    )


def receiver_findings(settings: Settings, host: str, port: int) -> list[Finding]:
    """The receiver's token is set and its port can be bound."""
    findings = []
    if settings.webhook_token is None:
        token = variable("webhook_token")
        findings.append(Finding(False, f"{token} is not set: the receiver needs it", token))
    problem = port_problem(host, port, option="--receiver-port")
    findings.append(Finding(problem is None, problem or f"receiver: {host}:{port} is free"))
    return findings


def port_problem(host: str, port: int, *, option: str = "--port") -> str | None:
    """Why the receiver could not listen on `host:port` (bound like the receiver binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        return bind_problem(host, port, error, option=option)
    return None
