-- analytics.usage_billing_monthly: metered bookings per billing month against the plan, one
-- row for every month from the first metered booking through the running month (months
-- without bookings show zeros). The running month also gets a run-rate projection.
CREATE OR REPLACE TABLE analytics.usage_billing_monthly AS
WITH month_range AS (
    SELECT
        least(min(m.billing_month), s.running_month) AS first_month,
        greatest(max(m.billing_month), s.running_month) AS last_month
    FROM analytics.report_settings AS s
    LEFT JOIN analytics.metered_bookings AS m ON true
    GROUP BY s.running_month
),

billing_months AS (
    SELECT CAST(unnest(generate_series(
        CAST(first_month AS TIMESTAMP), CAST(last_month AS TIMESTAMP), INTERVAL 1 MONTH
    )) AS DATE) AS billing_month
    FROM month_range
),

monthly_usage AS (
    SELECT
        billing_month,
        count(*) AS api_bookings,
        count(*) FILTER (WHERE cancelled) AS cancelled_api_bookings
    FROM analytics.metered_bookings
    GROUP BY billing_month
),

usage_with_plan AS (
    SELECT
        b.billing_month,
        coalesce(u.api_bookings, 0) AS api_bookings,
        coalesce(u.cancelled_api_bookings, 0) AS cancelled_api_bookings,
        s.plan_included_bookings,
        s.plan_price_per_booking,
        s.plan_currency,
        CASE
            WHEN b.billing_month = s.running_month AND s.running_month_elapsed_fraction > 0
                THEN CAST(round(coalesce(u.api_bookings, 0) / s.running_month_elapsed_fraction)
                    AS BIGINT)
        END AS projected_api_bookings
    FROM billing_months AS b
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN monthly_usage AS u ON u.billing_month = b.billing_month
)

SELECT
    billing_month,
    api_bookings,
    cancelled_api_bookings,
    plan_included_bookings,
    least(api_bookings, plan_included_bookings) AS included_bookings,
    greatest(api_bookings - plan_included_bookings, 0) AS overage_bookings,
    CAST(greatest(api_bookings - plan_included_bookings, 0) * plan_price_per_booking
        AS DECIMAL(18, 2)) AS estimated_cost,
    plan_currency AS currency,
    projected_api_bookings,
    CASE WHEN projected_api_bookings IS NOT NULL THEN CAST(
        greatest(projected_api_bookings - plan_included_bookings, 0) * plan_price_per_booking
        AS DECIMAL(18, 2)
    ) END AS projected_estimated_cost
FROM usage_with_plan
ORDER BY billing_month;

COMMENT ON TABLE analytics.usage_billing_monthly IS 'Usage-based billing per billing month (reporting time zone {{reporting_timezone}}), from analytics.metered_bookings. Metered rule: {{metered_booking_rule}}. Plan: {{plan_included_bookings}} bookings included per month, {{plan_price_per_booking}} {{plan_currency}} per booking above that. A later cancellation does not refund a metered booking. Estimates only: meetergo exposes no usage endpoint.';
COMMENT ON COLUMN analytics.usage_billing_monthly.billing_month IS 'First day of the billing month in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.api_bookings IS 'Metered bookings created in the month, cancelled ones included (cancellation does not refund).';
COMMENT ON COLUMN analytics.usage_billing_monthly.cancelled_api_bookings IS 'Of api_bookings, those cancelled by now (still billed).';
COMMENT ON COLUMN analytics.usage_billing_monthly.plan_included_bookings IS 'Bookings the plan includes per month ({{plan_included_bookings}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.included_bookings IS 'Of api_bookings, those covered by the plan''s included amount: least(api_bookings, plan_included_bookings).';
COMMENT ON COLUMN analytics.usage_billing_monthly.overage_bookings IS 'Bookings above the included amount: greatest(api_bookings - plan_included_bookings, 0).';
COMMENT ON COLUMN analytics.usage_billing_monthly.estimated_cost IS 'overage_bookings times the price per booking ({{plan_price_per_booking}}), in currency.';
COMMENT ON COLUMN analytics.usage_billing_monthly.currency IS 'ISO 4217 currency of estimated_cost ({{plan_currency}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_api_bookings IS 'Running month only: api_bookings divided by the elapsed share of the month (run-rate to month end), rounded. NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_estimated_cost IS 'Running month only: estimated cost if projected_api_bookings is reached. NULL for closed months.';
