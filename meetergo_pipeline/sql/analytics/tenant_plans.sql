-- analytics.tenant_plans: the plan each configured tenant is billed by, resolved by the
-- runner (tenants.py): the tenants file's plan_* overrides, else the deployment's
-- MEETERGO_PLAN_* settings. $tenant_ids, $included, $prices and $currencies are parallel
-- lists, one entry per tenant; without a tenants file the one tenant is `default`.
CREATE OR REPLACE TABLE analytics.tenant_plans AS
SELECT
    unnest(CAST($tenant_ids AS VARCHAR[])) AS tenant_id,
    unnest(CAST($included AS BIGINT[])) AS plan_included_bookings,
    unnest(CAST($prices AS DECIMAL(12, 4)[])) AS plan_price_per_booking,
    unnest(CAST($currencies AS VARCHAR[])) AS plan_currency
ORDER BY tenant_id;

COMMENT ON TABLE analytics.tenant_plans IS 'One row per configured tenant: the plan its bookings are billed by (the tenants file''s plan_* overrides, else the deployment''s MEETERGO_PLAN_* settings).';
COMMENT ON COLUMN analytics.tenant_plans.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.tenant_plans.plan_included_bookings IS 'Metered bookings included per month in the tenant''s plan.';
COMMENT ON COLUMN analytics.tenant_plans.plan_price_per_booking IS 'Price of each metered booking above the included ones, in plan_currency.';
COMMENT ON COLUMN analytics.tenant_plans.plan_currency IS 'Currency of the tenant''s plan (ISO 4217).';
