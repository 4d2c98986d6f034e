-- analytics.usage_by_tenant_monthly: the cross-tenant billing view: per tenant, one row for
-- every month from its first metered booking through the running month (months without
-- bookings show zeros), graded against the tenant's own plan (analytics.tenant_plans; a
-- tenant with data but no configured plan gets the deployment's, analytics.report_settings).
-- alert_status: over_plan once the month's bookings reach the included ones, warn from 80 %
-- of them, else ok.
CREATE OR REPLACE TABLE analytics.usage_by_tenant_monthly AS
WITH tenants AS (
    SELECT tenant_id FROM analytics.tenant_plans
    UNION
    SELECT tenant_id FROM analytics.metered_bookings
),

month_ranges AS (
    SELECT
        t.tenant_id,
        least(min(m.billing_month), s.running_month) AS first_month,
        greatest(max(m.billing_month), s.running_month) AS last_month
    FROM tenants AS t
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN analytics.metered_bookings AS m ON m.tenant_id = t.tenant_id
    GROUP BY t.tenant_id, s.running_month
),

tenant_months AS (
    SELECT
        tenant_id,
        CAST(unnest(generate_series(
            CAST(first_month AS TIMESTAMP), CAST(last_month AS TIMESTAMP), INTERVAL 1 MONTH
        )) AS DATE) AS billing_month
    FROM month_ranges
),

monthly_usage AS (
    SELECT
        tenant_id,
        billing_month,
        count(*) AS metered_bookings,
        count(*) FILTER (WHERE cancelled) AS cancelled_metered_bookings
    FROM analytics.metered_bookings
    GROUP BY tenant_id, billing_month
),

usage_with_plan AS (
    SELECT
        tm.tenant_id,
        tm.billing_month,
        tm.billing_month = s.running_month AS is_running_month,
        coalesce(u.metered_bookings, 0) AS metered_bookings,
        coalesce(u.cancelled_metered_bookings, 0) AS cancelled_metered_bookings,
        coalesce(p.plan_included_bookings, s.plan_included_bookings) AS plan_included_bookings,
        coalesce(p.plan_price_per_booking, s.plan_price_per_booking) AS plan_price_per_booking,
        coalesce(p.plan_currency, s.plan_currency) AS currency
    FROM tenant_months AS tm
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN monthly_usage AS u
        ON u.tenant_id = tm.tenant_id AND u.billing_month = tm.billing_month
    LEFT JOIN analytics.tenant_plans AS p ON p.tenant_id = tm.tenant_id
)

SELECT
    tenant_id,
    billing_month,
    is_running_month,
    metered_bookings,
    cancelled_metered_bookings,
    plan_included_bookings,
    greatest(metered_bookings - plan_included_bookings, 0) AS overage_bookings,
    CAST(greatest(metered_bookings - plan_included_bookings, 0) * plan_price_per_booking
        AS DECIMAL(18, 2)) AS estimated_cost,
    currency,
    round(metered_bookings / nullif(plan_included_bookings, 0), 4) AS share_of_plan,
    CASE
        WHEN metered_bookings > 0 AND metered_bookings >= plan_included_bookings
            THEN 'over_plan'
        WHEN metered_bookings > 0 AND metered_bookings >= 0.8 * plan_included_bookings
            THEN 'warn'
        ELSE 'ok'
    END AS alert_status
FROM usage_with_plan
ORDER BY tenant_id, billing_month;

COMMENT ON TABLE analytics.usage_by_tenant_monthly IS 'Metered bookings per tenant and billing month (reporting time zone {{reporting_timezone}}), from the tenant''s first metered booking through the running month, against the tenant''s own plan (analytics.tenant_plans). Metered rule: {{metered_booking_rule}}.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.billing_month IS 'First day of the billing month in the reporting time zone.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.is_running_month IS 'True for the month the build ran in (its figures are so far, not final).';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.metered_bookings IS 'The tenant''s metered bookings made in the month (cancelled ones included).';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.cancelled_metered_bookings IS 'Of metered_bookings, those cancelled since.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.plan_included_bookings IS 'Bookings included per month in the tenant''s plan.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.overage_bookings IS 'Metered bookings above the included ones (0 when within the plan).';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.estimated_cost IS 'overage_bookings times the tenant''s price per booking, in currency.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.currency IS 'Currency of the tenant''s plan (ISO 4217).';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.share_of_plan IS 'metered_bookings / plan_included_bookings (1.0 = the plan used up); NULL for a plan of 0.';
COMMENT ON COLUMN analytics.usage_by_tenant_monthly.alert_status IS 'over_plan: bookings reached the included ones; warn: at least 80 % of them; ok: below.';
