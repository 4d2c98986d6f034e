"""The meetergo API client: credentials, rate budget, retries, paging and wire models."""

from __future__ import annotations

from pathlib import Path

from meetergo_pipeline.client.api import PAGE_SIZE, MeetergoClient
from meetergo_pipeline.client.budget import RateBudget
from meetergo_pipeline.client.credentials import Credential
from meetergo_pipeline.client.errors import (
    MeetergoAPIError,
    MeetergoAuthError,
    MeetergoConnectError,
    MeetergoCredentialError,
    MeetergoError,
    MeetergoNotFoundError,
    MeetergoPaginationError,
    MeetergoRateLimitError,
    MeetergoResponseShapeError,
    MeetergoServerError,
    MeetergoTransportError,
)
from meetergo_pipeline.client.http import MeetergoHTTP
from meetergo_pipeline.settings import DEFAULTS, ClientSettings

__all__ = [
    "PAGE_SIZE",
    "Credential",
    "MeetergoAPIError",
    "MeetergoAuthError",
    "MeetergoClient",
    "MeetergoConnectError",
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
    "build_client",
    "connect",
]


def build_client(settings: ClientSettings, **http_options: object) -> MeetergoClient:
    """The client every entry point uses (the Dagster resource, `fetch`, `run`).

    Its rate budget lives in `settings.budget_dir` (`MEETERGO_API_BUDGET_DIR`), so all
    processes configured with the same folder draw from one budget per key: together they
    stay within `budget_share` of the key's limit. An unset key fails naming
    `MEETERGO_API_KEY` before anything is sent.
    """
    return connect(
        settings.base_url,
        settings.api_key or "",
        acting_user_id=settings.acting_user_id,
        budget_share=settings.budget_share,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        rate_limit_burst=settings.rate_limit_burst,
        budget_state_dir=settings.budget_dir,
        **http_options,  # type: ignore[arg-type]
    )


def connect(
    base_url: str,
    credential: str,
    *,
    acting_user_id: str | None = None,
    budget_share: float = DEFAULTS.api_budget_share,
    rate_limit_per_minute: float = DEFAULTS.api_rate_limit_per_minute,
    rate_limit_burst: float = DEFAULTS.api_rate_limit_burst,
    budget: RateBudget | None = None,
    budget_state_dir: Path | None = None,
    **http_options: object,
) -> MeetergoClient:
    """A ready client: validates the credential, then shares one budget per key.

    The credential is checked before anything is sent; `acting_user_id` defaults to the
    owner resolved through `/v4/user/me` when an API key is used. `rate_limit_per_minute` and
    `rate_limit_burst` are the key's limit the share is taken of (meetergo's default unless
    given), e.g. raised for a key with a raised limit or an unthrottled simulator. Without
    `budget_state_dir` the budget is shared by this process's threads only; `build_client`
    passes the configured folder.
    """
    parsed = Credential.parse(credential)
    if budget is None:
        probe = RateBudget.from_share(
            budget_share,
            limit_per_minute=rate_limit_per_minute,
            limit_burst=rate_limit_burst,
        )
        budget = RateBudget.shared(
            parsed.fingerprint, probe.per_minute, probe.burst, state_dir=budget_state_dir
        )
    http = MeetergoHTTP(base_url, parsed, budget, **http_options)  # type: ignore[arg-type]
    client = MeetergoClient(http, acting_user_id)
    if acting_user_id is None and parsed.kind == "api_key":
        client.acting_user_id = client.get_me()["id"]
    return client
