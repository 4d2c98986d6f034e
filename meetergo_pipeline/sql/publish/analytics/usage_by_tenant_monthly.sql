-- Published analytics.usage_by_tenant_monthly: metered bookings per tenant and month against
-- each tenant's own plan.
CREATE TABLE {{published}}.analytics.usage_by_tenant_monthly AS
SELECT
    tenant_id,
    billing_month,
    is_running_month,
    metered_bookings,
    cancelled_metered_bookings,
    plan_included_bookings,
    overage_bookings,
    estimated_cost,
    currency,
    share_of_plan,
    alert_status
FROM analytics.usage_by_tenant_monthly;
