"""Credentials and the acting user, as the live API resolves them.

Platform API key (`ak_live:<uuid>:<secret>`): acts for the company user named by header
`x-meetergo-api-user-id`; routes in `OWNER_DEFAULT_ROUTES` fall back to the company owner.
A header naming a user outside the company is refused with 403 (we picked 403 over 404).
Personal access token (`rgo-...`): acts as its owner; naming anyone else in the header → 403.
Its owner reaches other users' data only where the route takes a `userId` and the owner is a
company admin. The tenant has two: a standard user's and the admin's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meetergo_pipeline.simulator.errors import TenantError

if TYPE_CHECKING:
    from meetergo_pipeline.simulator.tenant import Tenant

USER_HEADER = "x-meetergo-api-user-id"
MISSING_USER_HEADER = f"Missing required header '{USER_HEADER}' for API key authentication"
# (method, route template) pairs that need no user header with an API key.
OWNER_DEFAULT_ROUTES = frozenset(
    {
        ("GET", "/v4/user/me"),
        ("POST", "/v4/user"),
        ("GET", "/webhooks"),
        ("POST", "/webhooks"),
        ("DELETE", "/webhooks/{webhook_id}"),
    }
)


@dataclass(frozen=True)
class Principal:
    kind: str  # "api_key" | "personal_token"
    credential: str
    user_id: str  # who the credential itself belongs to (owner for API keys)


def bearer_credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def authenticate(tenant: Tenant, authorization: str | None) -> Principal:
    credential = bearer_credential(authorization)
    if credential is None:
        raise TenantError(401, "Missing authorization header")
    if credential == tenant.api_key:
        return Principal("api_key", credential, tenant.owner_id)
    if credential == tenant.expired_api_key:
        raise TenantError(401, "API key has expired")
    if credential == tenant.personal_token:
        return Principal("personal_token", credential, tenant.personal_token_user_id)
    if credential == tenant.admin_personal_token:
        return Principal("personal_token", credential, tenant.owner_id)
    raise TenantError(401, "Invalid API key")


def acting_user(
    tenant: Tenant, principal: Principal, header_user_id: str | None, method: str, route: str
) -> dict[str, Any]:
    """The user the request acts as, or TenantError 400/403."""
    header_user_id = (header_user_id or "").strip() or None
    if principal.kind == "personal_token":
        if header_user_id is not None and header_user_id != principal.user_id:
            raise TenantError(403, "A personal access token cannot act on behalf of another user")
        return tenant.users_by_id[principal.user_id]
    if header_user_id is None:
        if (method, route) in OWNER_DEFAULT_ROUTES:
            return tenant.users_by_id[tenant.owner_id]
        raise TenantError(400, MISSING_USER_HEADER)
    user = tenant.users_by_id.get(header_user_id)
    if user is None:
        raise TenantError(403, f"The user named by {USER_HEADER} is not part of your company")
    return user


def credential_kind(authorization: str | None) -> str:
    credential = bearer_credential(authorization)
    if credential is None:
        return "none"
    if credential.startswith("ak_live:"):
        return "api_key"
    return "personal_token" if credential.startswith("rgo-") else "other"
