-- Published analytics.tenant_plans: the plan each tenant is billed by.
CREATE TABLE {{published}}.analytics.tenant_plans AS
SELECT
    tenant_id,
    plan_included_bookings,
    plan_price_per_booking,
    plan_currency
FROM analytics.tenant_plans;
