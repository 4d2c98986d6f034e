"""The preflight's unit of output, and the limit every probe shares.

A `Finding` is one line of `meetergo-pipeline check`: `ok`, or a failure that names the
variable, its value where it is not a secret, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBE_TIMEOUT_S = 4.0  # per request; a probe sends at most two, each at most once


@dataclass(frozen=True)
class Finding:
    """One line of the preflight: `ok` or a failure saying what to do; `subject` is the
    variable (or part) it is about."""

    ok: bool
    text: str
    subject: str = ""
