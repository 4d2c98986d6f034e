"""class-validator style checks: every problem becomes one string of a 400 `message` list."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from meetergo_pipeline.simulator.isotime import parse_iso

UUID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Checker:
    """Collects messages; routes raise `validation_error(checker.problems)` if any."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def integer(
        self,
        source: Mapping[str, Any],
        name: str,
        minimum: int,
        maximum: int | None = None,
        default: int | None = None,
    ) -> int:
        raw = source.get(name)
        if raw is None and default is not None:
            return default
        try:
            value = int(str(raw), 10)
        except ValueError:
            if maximum is not None:
                self.problems.append(f"{name} must not be greater than {maximum}")
            self.problems.append(f"{name} must not be less than {minimum}")
            self.problems.append(f"{name} must be an integer number")
            return minimum
        if value < minimum:
            self.problems.append(f"{name} must not be less than {minimum}")
        if maximum is not None and value > maximum:
            self.problems.append(f"{name} must not be greater than {maximum}")
        return value

    def one_of(
        self, source: Mapping[str, Any], name: str, allowed: Sequence[str], default: str | None
    ) -> str | None:
        value = source.get(name)
        if value is None:
            return default
        if value not in allowed:
            self.problems.append(
                f"{name} must be one of the following values: {', '.join(allowed)}"
            )
            return default
        return value

    def iso_date(
        self, source: Mapping[str, Any], name: str, required: bool = False
    ) -> float | None:
        value = source.get(name)
        if value is None:
            if required:
                self.problems.append(f"{name} must be a valid ISO 8601 date string")
            return None
        try:
            return parse_iso(str(value))
        except ValueError:
            self.problems.append(f"{name} must be a valid ISO 8601 date string")
            return None

    def uuid(self, source: Mapping[str, Any], name: str, required: bool = False) -> str | None:
        value = source.get(name)
        if value is None:
            if required:
                self.problems.append(f"{name} must be a UUID")
            return None
        if not isinstance(value, str) or not UUID_PATTERN.match(value):
            self.problems.append(f"{name} must be a UUID")
            return None
        return value

    def uuid_list(self, source: Mapping[str, Any], name: str) -> list[str] | None:
        value = source.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problems.append(f"{name} must be an array")
            return None
        if not all(isinstance(v, str) and UUID_PATTERN.match(v) for v in value):
            self.problems.append(f"each value in {name} must be a UUID")
            return None
        return value

    def string(self, source: Mapping[str, Any], name: str, label: str | None = None) -> str:
        value = source.get(name)
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{label or name} must be a string")
            self.problems.append(f"{label or name} should not be empty")
            return ""
        return value

    def optional_string(
        self, source: Mapping[str, Any], name: str, label: str | None = None
    ) -> str | None:
        value = source.get(name)
        if value is not None and not isinstance(value, str):
            self.problems.append(f"{label or name} must be a string")
            return None
        return value

    def email(self, source: Mapping[str, Any], name: str, label: str | None = None) -> str:
        value = source.get(name)
        if not isinstance(value, str) or not EMAIL_PATTERN.match(value):
            self.problems.append(f"{label or name} must be an email")
            return ""
        return value

    def boolean(self, source: Mapping[str, Any], name: str, label: str | None = None) -> bool:
        value = source.get(name)
        if not isinstance(value, bool):
            self.problems.append(f"{label or name} must be a boolean value")
            return False
        return value

    def mapping(self, source: Mapping[str, Any], name: str, label: str | None = None) -> dict:
        value = source.get(name)
        if not isinstance(value, dict):
            self.problems.append(f"{label or name} must be an object")
            return {}
        return value
