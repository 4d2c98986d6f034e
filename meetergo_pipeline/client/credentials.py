"""meetergo credentials: validated before use, never shown.

Two kinds exist on the live API: a platform API key (`ak_live:<uuid>:<secret>`, acts for any
user of the company named by `x-meetergo-api-user-id`) and a personal access token
(`rgo-` + 32 characters, acts as its owner).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal

from meetergo_pipeline.client.errors import MeetergoCredentialError

_API_KEY = re.compile(r"ak_live:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}:\S+")
_PERSONAL_TOKEN = re.compile(r"rgo-[A-Za-z0-9]{32}")

CredentialKind = Literal["api_key", "personal_token"]

EXPECTED_CREDENTIAL = (
    "a platform API key ak_live:<uuid>:<secret> or a personal access token "
    "rgo-<32 letters or digits>"
)


@dataclass(frozen=True)
class Credential:
    """A validated credential. `repr`/`str` show only its kind and a short fingerprint."""

    kind: CredentialKind
    _secret: str = field(repr=False)

    @classmethod
    def parse(cls, value: str, *, source: str = "MEETERGO_API_KEY") -> Credential:
        """Validate `value`; the error names `source` and the expected formats, never the value."""
        value = (value or "").strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        if _API_KEY.fullmatch(value):
            return cls("api_key", value)
        if _PERSONAL_TOKEN.fullmatch(value):
            return cls("personal_token", value)
        if not value:
            raise MeetergoCredentialError(f"{source} is not set")
        raise MeetergoCredentialError(
            f"{source} is not a meetergo credential (expected {EXPECTED_CREDENTIAL})"
        )

    @property
    def fingerprint(self) -> str:
        """Stable, non-reversible id of the credential (keys the shared rate budget)."""
        return hashlib.sha256(self._secret.encode()).hexdigest()[:12]

    def authorization_header(self) -> str:
        return f"Bearer {self._secret}"

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__
