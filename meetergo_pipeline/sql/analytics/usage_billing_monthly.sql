-- analytics.usage_billing_monthly: metered bookings per billing month against the plan, one
-- row for every month from the first metered booking through the running month (months
-- without bookings show zeros). The running month also gets a projection to month end:
-- bookings so far plus a trailing daily rate times the days left, so the figure is stable from
-- the month's first minute. alert_status grades every month against the plan; the
-- usage_within_plan check reads the running month's row. The rule's constants live in
-- projection_rule below and are spelled out in the column comments.
CREATE OR REPLACE TABLE analytics.usage_billing_monthly AS
WITH projection_rule AS (
    SELECT
        28 AS rate_window_days,
        7 AS min_rate_span_days,
        14 AS min_history_days_for_error,
        0.8 AS warn_share
),

month_range AS (
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

-- Trailing-rate inputs, measured in elapsed time up to as_of: metered history (since the first
-- metered booking, capped at the window), bookings inside the window, days left in the month.
rate_inputs AS (
    SELECT
        s.running_month,
        coalesce(round(least(r.rate_window_days, epoch(
            s.as_of - min(m.created_at) FILTER (WHERE m.created_at <= s.as_of)
        ) / 86400), 2), 0) AS history_days,
        count(m.created_at) FILTER (
            WHERE m.created_at > s.as_of - to_days(r.rate_window_days)
              AND m.created_at <= s.as_of
        ) AS window_bookings,
        epoch(
            timezone(s.reporting_timezone, CAST(s.running_month + INTERVAL 1 MONTH AS TIMESTAMP))
            - s.as_of
        ) / 86400 AS days_left
    FROM analytics.report_settings AS s
    CROSS JOIN projection_rule AS r
    LEFT JOIN analytics.metered_bookings AS m ON true
    GROUP BY s.running_month, s.as_of, s.reporting_timezone, r.rate_window_days
),

running_month_projection AS (
    SELECT
        i.running_month,
        i.history_days,
        i.window_bookings / greatest(i.history_days, r.min_rate_span_days) AS daily_rate,
        i.days_left
    FROM rate_inputs AS i
    CROSS JOIN projection_rule AS r
),

usage_with_plan AS (
    SELECT
        b.billing_month,
        coalesce(u.api_bookings, 0) AS api_bookings,
        coalesce(u.cancelled_api_bookings, 0) AS cancelled_api_bookings,
        s.plan_included_bookings,
        s.plan_price_per_booking,
        s.plan_currency,
        p.history_days AS projection_history_days,
        p.daily_rate AS projection_daily_rate,
        CAST(round(coalesce(u.api_bookings, 0) + p.daily_rate * p.days_left) AS BIGINT)
            AS projected_api_bookings
    FROM billing_months AS b
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN monthly_usage AS u ON u.billing_month = b.billing_month
    LEFT JOIN running_month_projection AS p ON p.running_month = b.billing_month
),

graded AS (
    SELECT
        u.*,
        -- greatest() skips NULLs, so closed months need the explicit CASE to stay NULL
        CASE WHEN u.projected_api_bookings IS NOT NULL
            THEN greatest(u.projected_api_bookings - u.plan_included_bookings, 0)
        END AS projected_overage_bookings,
        CASE
            WHEN u.api_bookings > 0 AND u.api_bookings >= u.plan_included_bookings
                THEN 'actual_reached_plan'
            WHEN u.projected_api_bookings > 0
                AND u.projected_api_bookings >= u.plan_included_bookings
                AND u.projection_history_days >= r.min_history_days_for_error
                THEN 'projection_reached_plan'
            WHEN u.projected_api_bookings > 0
                AND u.projected_api_bookings >= u.plan_included_bookings
                THEN 'thin_projection_reached_plan'
            WHEN u.api_bookings > 0 AND u.api_bookings >= r.warn_share * u.plan_included_bookings
                THEN 'actual_near_plan'
            WHEN u.projected_api_bookings > 0
                AND u.projected_api_bookings >= r.warn_share * u.plan_included_bookings
                THEN 'projection_near_plan'
            ELSE 'within_plan'
        END AS alert_rule
    FROM usage_with_plan AS u
    CROSS JOIN projection_rule AS r
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
    round(api_bookings / nullif(plan_included_bookings, 0), 4) AS share_of_plan,
    projected_api_bookings,
    projected_overage_bookings,
    CAST(projected_overage_bookings * plan_price_per_booking AS DECIMAL(18, 2))
        AS projected_estimated_cost,
    round(projected_api_bookings / nullif(plan_included_bookings, 0), 4)
        AS projected_share_of_plan,
    projection_history_days,
    round(projection_daily_rate, 4) AS projection_daily_rate,
    alert_rule,
    CASE
        WHEN alert_rule IN ('actual_reached_plan', 'projection_reached_plan') THEN 'over_plan'
        WHEN alert_rule = 'within_plan' THEN 'ok'
        ELSE 'warn'
    END AS alert_status
FROM graded
ORDER BY billing_month;

COMMENT ON TABLE analytics.usage_billing_monthly IS 'Usage-based billing per billing month (reporting time zone {{reporting_timezone}}), from analytics.metered_bookings. Metered rule: {{metered_booking_rule}}. Plan: {{plan_included_bookings}} bookings included per month, {{plan_price_per_booking}} {{plan_currency}} per booking above that. A later cancellation does not refund a metered booking. The running month carries a projection to month end (see projected_api_bookings) and every month an alert_status against the plan. Estimates only: meetergo exposes no usage endpoint.';
COMMENT ON COLUMN analytics.usage_billing_monthly.billing_month IS 'First day of the billing month in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.api_bookings IS 'Metered bookings created in the month, cancelled ones included (cancellation does not refund).';
COMMENT ON COLUMN analytics.usage_billing_monthly.cancelled_api_bookings IS 'Of api_bookings, those cancelled by now (still billed).';
COMMENT ON COLUMN analytics.usage_billing_monthly.plan_included_bookings IS 'Bookings the plan includes per month ({{plan_included_bookings}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.included_bookings IS 'Of api_bookings, those covered by the plan''s included amount: least(api_bookings, plan_included_bookings).';
COMMENT ON COLUMN analytics.usage_billing_monthly.overage_bookings IS 'Bookings above the included amount: greatest(api_bookings - plan_included_bookings, 0).';
COMMENT ON COLUMN analytics.usage_billing_monthly.estimated_cost IS 'overage_bookings times the price per booking ({{plan_price_per_booking}}), in currency.';
COMMENT ON COLUMN analytics.usage_billing_monthly.currency IS 'ISO 4217 currency of estimated_cost ({{plan_currency}}).';
COMMENT ON COLUMN analytics.usage_billing_monthly.share_of_plan IS 'api_bookings / plan_included_bookings, rounded to 4 decimals (1 = the plan is used up). NULL when the plan includes no bookings.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_api_bookings IS 'Running month only: api_bookings + projection_daily_rate x the days left until the month ends at midnight {{reporting_timezone}} (elapsed days, fractional), rounded. The rate is the metered bookings created in the 28 days up to report_settings.as_of divided by 28; with less than 28 days of metered history (projection_history_days) it is the bookings since the first metered booking divided by that history, but by at least 7 days, so a tenant''s first day does not extrapolate wildly. Stable from the first minute of a month: the rate does not depend on how much of the month has passed. NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_overage_bookings IS 'Running month only: bookings above the included amount if projected_api_bookings is reached: greatest(projected_api_bookings - plan_included_bookings, 0). NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_estimated_cost IS 'Running month only: projected_overage_bookings times the price per booking ({{plan_price_per_booking}}), in currency. NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projected_share_of_plan IS 'Running month only: projected_api_bookings / plan_included_bookings, rounded to 4 decimals. NULL for closed months and when the plan includes no bookings.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projection_history_days IS 'Running month only: days of metered history behind projection_daily_rate, from the first metered booking to as_of, capped at the 28-day window (2 decimals). Below 14 the projection is too thin to raise over_plan on its own. NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.projection_daily_rate IS 'Running month only: metered bookings per day used by the projection (trailing 28 days, or the history available with a 7-day minimum span), rounded to 4 decimals. NULL for closed months.';
COMMENT ON COLUMN analytics.usage_billing_monthly.alert_rule IS 'The first rule that holds, in this order: actual_reached_plan (api_bookings > 0 and >= plan_included_bookings), projection_reached_plan (projected_api_bookings > 0 and >= plan_included_bookings with projection_history_days >= 14), thin_projection_reached_plan (the same on less history), actual_near_plan (api_bookings >= 80 % of the plan), projection_near_plan (projected_api_bookings >= 80 % of the plan), otherwise within_plan. Closed months are graded on api_bookings only.';
COMMENT ON COLUMN analytics.usage_billing_monthly.alert_status IS 'over_plan (alert_rule actual_reached_plan or projection_reached_plan: the usage_within_plan check fails with ERROR), warn (thin_projection_reached_plan, actual_near_plan, projection_near_plan: it fails with WARN) or ok (within_plan).';
