"""One-line descriptions of failures an operator has to fix, and which of them no retry fixes.

The preflight (`preflight/`), the command line and the Dagster steps describe a refused
key, an unreachable base URL, a folder that cannot be written or a port that cannot be bound
the same way: one line naming the variable (or option), the value where it is not a secret,
and what to do.
"""

from __future__ import annotations

import errno

from meetergo_pipeline.client import (
    MeetergoAuthError,
    MeetergoConnectError,
    MeetergoCredentialError,
)
from meetergo_pipeline.settings import SettingsError, variable

KEY_VARIABLE = variable("api_key")
USER_VARIABLE = variable("api_user_id")

# File-system errors that stay until someone changes permissions or a setting.
ACCESS_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
)


def auth_problem(error: MeetergoAuthError) -> str:
    """A 401 or 403: the key is refused, or may not do what was asked."""
    text = "; ".join(error.message) if isinstance(error.message, list) else error.message
    if error.status_code == 401:
        return (
            f"{KEY_VARIABLE} was refused by the API (401: {text}): set a valid, unexpired "
            "platform API key or personal access token (the value is not shown)"
        )
    return (
        f"the API refused {error.method} {error.path} (403: {text}): {KEY_VARIABLE} may not "
        f"do this, or {USER_VARIABLE} is not a user it can act as"
    )


def file_problem(error: OSError, setting: str | None = None) -> str:
    """A file or folder that cannot be created or written; `setting` names the variable."""
    where = error.filename or "a file"
    reason = error.strerror or str(error)
    if error.errno == errno.EEXIST:
        reason = "it is a file, not a folder"
    fix = f"point {setting} elsewhere" if setting else "point the setting elsewhere"
    named = f" ({setting})" if setting else ""
    return f"cannot write {where}{named}: {reason}: make it writable by this user or {fix}"


def is_access_error(error: BaseException) -> bool:
    """An OSError that stays until permissions or a path setting change."""
    return isinstance(error, OSError) and error.errno in ACCESS_ERRNOS


def unrecoverable(error: BaseException) -> str | None:
    """The one-line message of a failure no retry can fix, None for any other failure.

    Retrying a refused key, an invalid setting, a folder that cannot be written or a base
    URL that refused connections for the client's whole connect budget only delays the same
    failure; a 5xx, a 429 or a timeout may pass and are left to the retry policy.
    """
    if isinstance(error, MeetergoAuthError):
        return auth_problem(error)
    if isinstance(error, MeetergoConnectError | MeetergoCredentialError | SettingsError):
        return str(error)
    if is_access_error(error):
        return file_problem(error)  # type: ignore[arg-type]
    return None


def bind_problem(host: str, port: int, error: OSError, *, option: str = "--port") -> str:
    """One line for a failed bind of the receiver's socket."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use: stop what holds it or choose another with {option}"
        )
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges: choose one above 1023 with {option}"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine: choose another with --host"
    return f"cannot listen on {host}:{port} ({error.strerror or error}): choose another {option}"
