"""The meetergo API client: credentials, rate budget, retries, paging and wire models."""

from __future__ import annotations

from pathlib import Path

from meetergo_pipeline.client.api import PAGE_SIZE, MeetergoClient
from meetergo_pipeline.client.budget import API_BURST, API_REQUESTS_PER_MINUTE, RateBudget
from meetergo_pipeline.client.credentials import Credential
from meetergo_pipeline.client.errors import (
    MeetergoAPIError,
    MeetergoAuthError,
    MeetergoCredentialError,
    MeetergoError,
    MeetergoNotFoundError,
    MeetergoPaginationError,
    MeetergoRateLimitError,
    MeetergoResponseShapeError,
    MeetergoServerError,
    MeetergoTransportError,
)
from meetergo_pipeline.client.http import DEFAULT_BASE_URL, MeetergoHTTP

DEFAULT_BUDGET_SHARE = 0.5

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_BUDGET_SHARE",
    "PAGE_SIZE",
    "Credential",
    "MeetergoAPIError",
    "MeetergoAuthError",
    "MeetergoClient",
    "MeetergoCredentialError",
    "MeetergoError",
    "MeetergoHTTP",
    "MeetergoNotFoundError",
    "MeetergoPaginationError",
    "MeetergoRateLimitError",
    "MeetergoResponseShapeError",
    "MeetergoServerError",
    "MeetergoTransportError",
    "RateBudget",
    "connect",
]


def connect(
    base_url: str,
    credential: str,
    *,
    acting_user_id: str | None = None,
    budget_share: float = DEFAULT_BUDGET_SHARE,
    rate_limit_per_minute: float | None = None,
    rate_limit_burst: float | None = None,
    budget: RateBudget | None = None,
    budget_state_dir: Path | None = None,
    **http_options: object,
) -> MeetergoClient:
    """A ready client: validates the credential, then shares one budget per key.

    The credential is checked before anything is sent; `acting_user_id` defaults to the
    owner resolved through `/v4/user/me` when an API key is used. `rate_limit_per_minute` and
    `rate_limit_burst` replace meetergo's default per-key limit (100/min, burst 200) that the
    share is taken of, e.g. for a key with a raised limit or an unthrottled simulator.
    """
    parsed = Credential.parse(credential)
    if budget is None:
        probe = RateBudget.from_share(
            budget_share,
            limit_per_minute=rate_limit_per_minute or API_REQUESTS_PER_MINUTE,
            limit_burst=rate_limit_burst or API_BURST,
        )
        budget = RateBudget.shared(
            parsed.fingerprint, probe.per_minute, probe.burst, state_dir=budget_state_dir
        )
    http = MeetergoHTTP(base_url, parsed, budget, **http_options)  # type: ignore[arg-type]
    client = MeetergoClient(http, acting_user_id)
    if acting_user_id is None and parsed.kind == "api_key":
        client.acting_user_id = client.get_me()["id"]
    return client
