"""Analytics marts (booking volume, usage billing, webhook reconciliation) and the snapshot."""

import time
from pathlib import Path

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    asset,
    multi_asset,
)

from meetergo_pipeline.defs.assets.core import CORE_KEYS
from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.defs.resources import (
    AnalyticsSettings,
    MeetergoWarehouse,
    WebhookLogResource,
)
from meetergo_pipeline.transform import (
    ANALYTICS_MODELS,
    CheckOutcome,
    build_analytics,
    check_reconciliation,
    check_usage_against_plan,
)
from meetergo_pipeline.warehouse.publish import publish_snapshot

MARTS = ANALYTICS_MODELS
CORE = [AssetKey(["core", table]) for table in CORE_KEYS]
USAGE = AssetKey(["analytics", "usage_billing_monthly"])
RECONCILIATION = AssetKey(["analytics", "webhook_reconciliation"])


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["analytics", mart]), deps=CORE, group_name="analytics", kinds={"duckdb"}
        )
        for mart in MARTS
    ],
    check_specs=[
        AssetCheckSpec("usage_within_plan", asset=USAGE),
        AssetCheckSpec("reconciliation_within_threshold", asset=RECONCILIATION),
        AssetCheckSpec("webhook_log_not_silent", asset=RECONCILIATION),
    ],
)
def analytics_tables(
    context: AssetExecutionContext,
    warehouse: MeetergoWarehouse,
    analytics_settings: AnalyticsSettings,
    webhook_log: WebhookLogResource,
):
    """Rebuilds the marts from core (see meetergo_pipeline/sql/analytics)."""
    with warehouse.get_connection() as con:
        try:
            settings = analytics_settings.transform_settings()
            counts = build_analytics(con, settings)
        except ValueError as error:
            # A bad setting (the message names the variable) fails the same way every time:
            # fail now with that message instead of after the step retries' backoff.
            raise Failure(description=str(error), allow_retries=False) from None
        for mart in MARTS:
            yield MaterializeResult(
                asset_key=AssetKey(["analytics", mart]),
                metadata={"rows": counts.get(f"analytics.{mart}", 0)},
            )
        yield to_check_result(USAGE, "usage_within_plan", check_usage_against_plan(con, settings))
        reconciliation = check_reconciliation(con, analytics_settings.reconciliation_warn_threshold)
        yield to_check_result(RECONCILIATION, "reconciliation_within_threshold", reconciliation)
    silence = check_webhook_log_silence(webhook_log.path, webhook_log.silence_warn_minutes)
    yield to_check_result(RECONCILIATION, "webhook_log_not_silent", silence)
    context.log.info(f"analytics rebuilt: {counts}")


@asset(
    key=["analytics", "published_snapshot"],
    deps=[AssetKey(["analytics", mart]) for mart in MARTS],
    group_name="analytics",
    kinds={"duckdb"},
)
def published_snapshot(warehouse: MeetergoWarehouse) -> MaterializeResult:
    """The read-only copy analysts query, replaced atomically after every successful run."""
    with warehouse.get_connection() as con:
        path = publish_snapshot(con, warehouse.snapshot_path)
    return MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})


def check_webhook_log_silence(log_dir: Path, warn_after_minutes: float) -> CheckOutcome:
    """WARN when no delivery has been appended for longer than the configured silence."""
    logs = list(log_dir.glob("*.jsonl")) if log_dir.is_dir() else []
    if not logs:
        return CheckOutcome(False, "WARN", f"no webhook log in {log_dir} yet")
    silent_minutes = (time.time() - max(p.stat().st_mtime for p in logs)) / 60
    passed = silent_minutes <= warn_after_minutes
    verdict = "within" if passed else "beyond"
    return CheckOutcome(
        passed,
        "WARN",
        f"last delivery {silent_minutes:.0f} min ago, {verdict} {warn_after_minutes:.0f} min",
        {"silent_minutes": round(silent_minutes, 1)},
    )
