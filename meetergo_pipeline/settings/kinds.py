"""What a setting's value must be: each kind parses environment text and checks a value.

`parse(raw)` turns the text of an environment variable into the typed value and `check(value)`
validates a value given in code (e.g. a `TransformSettings` built by hand). Both raise
`ValueError` whose message is what the value must be ("a whole number >= 1"), never the value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Kind:
    """Base of every kind: `expected` says what a valid value is."""

    expected: str = "text"

    def parse(self, raw: str) -> Any:
        return self.check(raw)

    def check(self, value: Any) -> Any:
        return value

    def invalid(self) -> ValueError:
        return ValueError(self.expected)


@dataclass(frozen=True)
class Number(Kind):
    """A number in a range, so a value that cannot work (0 workers, a negative window, a
    budget share above 1) is refused before anything runs."""

    kind: type[int] | type[float] | type[Decimal]
    minimum: float
    maximum: float | None = None
    minimum_allowed: bool = True

    @property
    def expected(self) -> str:  # type: ignore[override]
        noun = "a whole number" if self.kind is int else "a number"
        lower = f"{'>=' if self.minimum_allowed else '>'} {self.minimum:g}"
        upper = f" and <= {self.maximum:g}" if self.maximum is not None else ""
        return f"{noun} {lower}{upper}"

    def parse(self, raw: str) -> int | float | Decimal:
        try:
            value = self.kind(raw.strip())
        except (ValueError, ArithmeticError):
            raise self.invalid() from None
        return self.check(value)

    def check(self, value: Any) -> int | float | Decimal:
        accepted = int if self.kind is int else (int, float, Decimal)
        if isinstance(value, bool) or not isinstance(value, accepted):
            raise self.invalid()
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            raise self.invalid()
        too_low = value < self.minimum or (value == self.minimum and not self.minimum_allowed)
        if too_low or (self.maximum is not None and value > self.maximum):
            raise self.invalid()
        return value


@dataclass(frozen=True)
class Text(Kind):
    """Non-empty text, optionally matching `pattern` (after stripping, and upper-casing when
    `upper`: environment text is normalised, a value given in code must already be)."""

    expected: str = "non-empty text"
    pattern: str | None = None
    upper: bool = False

    def parse(self, raw: str) -> str:
        value = raw.strip()
        return self.check(value.upper() if self.upper else value)

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.invalid()
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise self.invalid()
        return value


@dataclass(frozen=True)
class FsPath(Kind):
    """A file or folder, relative to the working directory unless absolute."""

    expected: str = "a file-system path"

    def parse(self, raw: str) -> Path:
        return self.check(Path(raw.strip()))

    def check(self, value: Any) -> Path:
        if not isinstance(value, str | Path) or not str(value).strip():
            raise self.invalid()
        return Path(value)


@dataclass(frozen=True)
class Url(Kind):
    expected: str = "an http:// or https:// URL"

    def parse(self, raw: str) -> str:
        return self.check(raw.strip())

    def check(self, value: Any) -> str:
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.invalid()
        return value


@dataclass(frozen=True)
class PostgresUrl(Kind):
    """A libpq connection URL, opened with psycopg2 as it is (not a SQLAlchemy URL)."""

    expected: str = (
        "a PostgreSQL connection URL postgresql://USER:PASSWORD@HOST:5432/DATABASE "
        "(without the +psycopg2 of a SQLAlchemy URL)"
    )

    def parse(self, raw: str) -> str:
        return self.check(raw.strip())

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise self.invalid()
        return value


@dataclass(frozen=True)
class ApiCredential(Kind):
    """A meetergo credential, in the format `Credential.parse` accepts (kept as given)."""

    @property
    def expected(self) -> str:  # type: ignore[override]
        from meetergo_pipeline.client.credentials import EXPECTED_CREDENTIAL

        return EXPECTED_CREDENTIAL

    def check(self, value: Any) -> str:
        # Imported here: the client takes its own defaults from the settings table.
        from meetergo_pipeline.client.credentials import Credential
        from meetergo_pipeline.client.errors import MeetergoCredentialError

        try:
            Credential.parse(value)
        except MeetergoCredentialError:
            raise self.invalid() from None
        return value


@dataclass(frozen=True)
class FileMode(Kind):
    """Octal permission bits of a published file: owner-readable, no execute bits, no write
    for group or others (`0600`, `0640`, `0644`)."""

    expected: str = (
        "an octal file mode such as 0600 (owner only) or 0640 (also the file's group), "
        "readable by the owner, without execute bits and without write for group or others"
    )

    def parse(self, raw: str) -> int:
        try:
            return self.check(int(raw.strip(), 8))
        except ValueError:
            raise self.invalid() from None

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid()
        if not 0 <= value <= 0o777 or value & 0o133 or not value & 0o400:
            raise self.invalid()
        return value


@dataclass(frozen=True)
class Cron(Kind):
    """A cron expression a Dagster schedule accepts: five fields, checked by Dagster's own
    validator. The plain forms (each field `*` or one number in range, any month) are
    recognised without importing Dagster, so reading the settings stays light."""

    expected: str = (
        "a cron expression of five fields (minute hour day-of-month month day-of-week) "
        "that Dagster accepts, such as 0 * * * *"
    )

    def parse(self, raw: str) -> str:
        return self.check(raw.strip())

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.invalid()
        if _plain_cron(value):
            return value
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise self.invalid()
        return value


@dataclass(frozen=True)
class Switch(Kind):
    """`on` or `off` (any case), parsed to True or False."""

    expected: str = "on or off"

    def parse(self, raw: str) -> bool:
        value = raw.strip().lower()
        if value not in ("on", "off"):
            raise self.invalid()
        return value == "on"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.invalid()
        return value


# The range of each field of a cron expression in its plain form (see `_plain_cron`); the
# month is `*` there.
_PLAIN_CRON_RANGES = ((0, 59), (0, 23), (1, 31), None, (0, 6))


def _plain_cron(value: str) -> bool:
    """True for `*` or a single in-range number in each field, every month (`*`)."""
    fields = value.split()
    if len(fields) != 5 or fields[3] != "*":
        return False
    for text, bounds in zip(fields, _PLAIN_CRON_RANGES, strict=True):
        if text == "*":
            continue
        if bounds is None or not re.fullmatch(r"0|[1-9][0-9]?", text):
            return False
        if not bounds[0] <= int(text) <= bounds[1]:
            return False
    return True


TEXT = Text()
COUNT = Number(int, 0)
AT_LEAST_ONE = Number(int, 1)
NON_NEGATIVE = Number(float, 0)
POSITIVE = Number(float, 0, minimum_allowed=False)
SHARE = Number(float, 0, 1, minimum_allowed=False)
MONEY = Number(Decimal, 0)
PATH = FsPath()
URL = Url()
POSTGRES_URL = PostgresUrl()
FILE_MODE = FileMode()
CREDENTIAL = ApiCredential()
CRON = Cron()
SWITCH = Switch()
