-- Published analytics.usage_billing_monthly: metered bookings per month against the plan.
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
    projected_api_bookings,
    projected_estimated_cost
FROM analytics.usage_billing_monthly;
