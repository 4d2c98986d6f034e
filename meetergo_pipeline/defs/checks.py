"""Turning the plain CheckOutcome of a check function into a Dagster AssetCheckResult."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey

from meetergo_pipeline.transform import CheckOutcome


def to_check_result(asset_key: AssetKey, name: str, outcome: CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=AssetCheckSeverity[outcome.severity],
        description=outcome.description,
        metadata={k: v for k, v in outcome.metadata.items() if v is not None},
    )
