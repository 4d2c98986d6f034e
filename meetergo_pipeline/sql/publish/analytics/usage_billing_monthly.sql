-- Published analytics.usage_billing_monthly: metered bookings per month against the plan,
-- with the running month's projection and every month's alert status.
CREATE TABLE {{published}}.analytics.usage_billing_monthly AS
SELECT
    billing_month,
    api_bookings,
    cancelled_api_bookings,
    plan_included_bookings,
    included_bookings,
    overage_bookings,
    estimated_cost,
    currency,
    share_of_plan,
    projected_api_bookings,
    projected_overage_bookings,
    projected_estimated_cost,
    projected_share_of_plan,
    projection_history_days,
    projection_daily_rate,
    alert_rule,
    alert_status
FROM analytics.usage_billing_monthly;
