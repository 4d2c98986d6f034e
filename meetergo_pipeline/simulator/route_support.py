"""What every route handler needs: the tenant, the acting user, the user a request targets,
and the request's JSON body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from meetergo_pipeline.simulator.errors import TenantError, validation_error
from meetergo_pipeline.simulator.params import Checker

if TYPE_CHECKING:
    from meetergo_pipeline.simulator.tenant import Tenant

ACTING_USER_KEY = "meetergo.acting_user"
TENANT_KEY = "meetergo.tenant"


def tenant_of(request: Request) -> Tenant:
    """The tenant whose credential the request carries (the app's own tenant by default)."""
    return request.scope.get(TENANT_KEY) or request.app.tenant


def acting(request: Request) -> dict[str, Any]:
    return request.scope[ACTING_USER_KEY]


def target_user_id(request: Request, check: Checker, params: Mapping[str, Any]) -> str:
    """The `userId` a listing names (admins only, for another user), else the acting user.

    Call after the other checks: validation problems are raised here first.
    """
    user, tenant = acting(request), tenant_of(request)
    named = check.uuid(params, "userId")
    if check.problems:
        raise validation_error(check.problems)
    if named is None or named == user["id"]:
        return user["id"]
    if not user["isAdmin"]:
        raise TenantError(403, "Only admins can read the data of other users")
    if named not in tenant.users_by_id:
        raise TenantError(404, "User not found")
    return named


async def json_object(request: Request, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 with Nest's wording for broken JSON or a non-object."""
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        position = getattr(error, "pos", 0)
        raise TenantError(400, f"Unexpected token in JSON at position {position}") from None
    if not isinstance(body, dict):
        raise validation_error(["request body must be an object"])
    return body
