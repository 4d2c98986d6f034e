"""Typed errors of the meetergo client.

None of them ever carries the credential: messages are built from the response body, the
method and the path only (the query string and headers are left out on purpose).
"""

from __future__ import annotations

from typing import Any


class MeetergoError(Exception):
    """Base class for everything the client raises."""


class MeetergoCredentialError(MeetergoError, ValueError):
    """The configured credential is malformed; raised before any request is sent."""


class MeetergoTransportError(MeetergoError):
    """The request never produced a usable response (timeout, reset, truncated body)."""


class MeetergoConnectError(MeetergoTransportError):
    """No connection to the base URL could be made (refused, unknown host, TLS, no answer).

    Raised once the client's connect retries are spent; the message names the base URL and
    `MEETERGO_API_BASE_URL`.
    """


class MeetergoResponseShapeError(MeetergoError):
    """A well-formed JSON body without the fields the client relies on (the API changed)."""


class MeetergoPaginationError(MeetergoError):
    """The server kept returning inconsistent pages even after re-reading."""


class MeetergoAPIError(MeetergoError):
    """An HTTP error response, with the fields of meetergo's NestJS-style error body."""

    def __init__(
        self,
        status_code: int,
        message: str | list[str],
        *,
        method: str,
        path: str,
        error: str | None = None,
        errors: list[Any] | None = None,
        code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.method = method
        self.path = path
        self.error = error
        self.errors = errors or []
        self.code = code
        text = "; ".join(message) if isinstance(message, list) else message
        detail = f" ({code})" if code else ""
        super().__init__(f"{method} {path} failed with {status_code}{detail}: {text}")


class MeetergoAuthError(MeetergoAPIError):
    """401/403: the credential is invalid, expired or not allowed to act as that user."""


class MeetergoNotFoundError(MeetergoAPIError):
    """404: no such route or entity."""


class MeetergoRateLimitError(MeetergoAPIError):
    """429 that the client gave up on (attempts exhausted or Retry-After above the cap)."""

    def __init__(self, *args: Any, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_s = retry_after_s


class MeetergoServerError(MeetergoAPIError):
    """5xx after the retries allowed for the request were spent."""


def error_for_status(
    status_code: int, body: Any, *, method: str, path: str, **extra: Any
) -> MeetergoAPIError:
    """Build the typed error for an error response; tolerates HTML, empty or odd bodies."""
    fields = body if isinstance(body, dict) else {}
    message = fields.get("message")
    if not isinstance(message, str | list):
        message = _fallback_message(status_code, body)
    code = fields.get("errorCode") or fields.get("code")
    cls: type[MeetergoAPIError] = MeetergoAPIError
    if status_code in (401, 403):
        cls = MeetergoAuthError
    elif status_code == 404:
        cls = MeetergoNotFoundError
    elif status_code == 429:
        cls = MeetergoRateLimitError
    elif status_code >= 500:
        cls = MeetergoServerError
    return cls(
        status_code,
        message,
        method=method,
        path=path,
        error=fields.get("error") if isinstance(fields.get("error"), str) else None,
        errors=fields.get("errors") if isinstance(fields.get("errors"), list) else None,
        code=str(code) if code else None,
        **extra,
    )


def _fallback_message(status_code: int, body: Any) -> str:
    if isinstance(body, str) and body.strip():
        snippet = " ".join(body.split())[:120]
        return f"non-JSON error body: {snippet}"
    return f"HTTP {status_code} with an empty body"
