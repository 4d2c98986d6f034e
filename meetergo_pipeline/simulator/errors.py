"""Domain errors the tenant raises and the NestJS-style bodies the API sends for them."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response


class TenantError(Exception):
    """A request the tenant refuses; carries the HTTP status and body the API would send."""

    def __init__(self, status: int, message: str | list[str], **extra: Any) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> Response:
        return error_response(self.status, self.message, **self.extra)


def error_body(status: int, message: str | list[str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, **extra, "message": message}
    body["error"] = HTTPStatus(status).phrase
    return body


def error_response(
    status: int, message: str | list[str], headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return json_response(error_body(status, message, **extra), status, headers)


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, headers, media_type="application/json")


def not_found_route(method: str, path: str) -> Response:
    return error_response(404, f"Cannot {method} {path}")


def validation_error(messages: list[str]) -> TenantError:
    return TenantError(400, messages)


NGINX_502_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
