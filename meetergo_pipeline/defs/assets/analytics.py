"""Analytics marts (booking volume, usage billing, webhook reconciliation) and the snapshot."""

from dagster import (
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from meetergo_pipeline.defs.catalogue import (
    asset_key,
    asset_spec,
    check_spec,
    unique_key_check_results,
    unique_key_check_specs,
)
from meetergo_pipeline.defs.checks import to_check_result
from meetergo_pipeline.defs.metadata import (
    preview_metadata,
    table_metadata,
    usage_metadata,
    volume_metadata,
)
from meetergo_pipeline.defs.resources import AnalyticsSettings, MeetergoWarehouse
from meetergo_pipeline.models import model, models_in, published_models
from meetergo_pipeline.report.renderer import ReportRenderer
from meetergo_pipeline.transform import (
    build_analytics,
    check_reconciliation,
    check_usage_against_plan,
)

USAGE = asset_key(model("analytics.usage_billing_monthly"))
RECONCILIATION = asset_key(model("analytics.webhook_reconciliation"))
VOLUME = asset_key(model("analytics.booking_volume_daily"))


@multi_asset(
    specs=[asset_spec(mart) for mart in models_in("analytics")],
    check_specs=[
        *unique_key_check_specs("analytics"),
        check_spec("usage_within_plan", USAGE),
        check_spec("reconciliation_within_threshold", RECONCILIATION),
    ],
)
def analytics_tables(
    context: AssetExecutionContext,
    warehouse: MeetergoWarehouse,
    analytics_settings: AnalyticsSettings,
):
    """Rebuilds the marts from core (see meetergo_pipeline/sql/analytics).

    Each mart's metadata has its row count, column schema and a preview of its published
    rows; the billing mart adds the running month's figures, the volume mart the bookings
    created and cancelled lately.
    """
    with warehouse.get_connection() as con:
        try:
            settings = analytics_settings.transform_settings()
            counts = build_analytics(con, settings)
        except ValueError as error:
            # A bad setting (the message names the variable) fails the same way every time:
            # fail now with that message instead of after the step retries' backoff.
            raise Failure(description=str(error), allow_retries=False) from None
        usage = check_usage_against_plan(con, settings)
        for mart in models_in("analytics"):
            metadata = {**table_metadata(con, mart.table), **preview_metadata(con, mart.table)}
            if asset_key(mart) == USAGE:
                metadata.update(usage_metadata(usage.metadata))
            elif asset_key(mart) == VOLUME:
                metadata.update(volume_metadata(con))
            yield MaterializeResult(asset_key=asset_key(mart), metadata=metadata)
        yield from unique_key_check_results(con, "analytics")
        yield to_check_result(USAGE, "usage_within_plan", usage)
        reconciliation = check_reconciliation(con, analytics_settings.reconciliation_warn_threshold)
        yield to_check_result(RECONCILIATION, "reconciliation_within_threshold", reconciliation)
    context.log.info(f"analytics rebuilt: {counts}")


@asset(
    key=["analytics", "published_snapshot"],
    deps=[asset_key(published) for published in published_models()],
    group_name="analytics",
    kinds={"duckdb"},
)
def published_snapshot(
    warehouse: MeetergoWarehouse, analytics_settings: AnalyticsSettings
) -> MaterializeResult:
    """The read-only copy analysts query, replaced atomically after every successful run,
    and the HTML report rendered from it beside it."""
    threshold = analytics_settings.reconciliation_warn_threshold
    with ReportRenderer(reconciliation_warn_threshold=threshold) as renderer:
        with warehouse.get_connection() as con:
            path = warehouse.publish(con)
        report = renderer.render(path)
    return MaterializeResult(
        metadata={
            "path": str(path),
            "bytes": path.stat().st_size,
            "report": MetadataValue.path(str(report)),
            "report_url": MetadataValue.url(report.resolve().as_uri()),
        }
    )
