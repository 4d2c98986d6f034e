-- Metered bookings of the last $months billing months (the running one included) against
-- the plan, from analytics.usage_billing_monthly. The graded columns (share_of_plan,
-- projected_share_of_plan, alert_rule, alert_status) are read when the snapshot publishes
-- them and are NULL otherwise: UNION ALL BY NAME with the empty typed row `wanted` gives
-- every column below whatever the published contract holds. The shares fall back to the
-- same ratio of the published counts.
WITH wanted AS (
    SELECT
        CAST(NULL AS DATE) AS billing_month,
        CAST(NULL AS BIGINT) AS api_bookings,
        CAST(NULL AS BIGINT) AS cancelled_api_bookings,
        CAST(NULL AS BIGINT) AS plan_included_bookings,
        CAST(NULL AS BIGINT) AS overage_bookings,
        CAST(NULL AS DECIMAL(18, 2)) AS estimated_cost,
        CAST(NULL AS VARCHAR) AS currency,
        CAST(NULL AS BIGINT) AS projected_api_bookings,
        CAST(NULL AS DECIMAL(18, 2)) AS projected_estimated_cost,
        CAST(NULL AS DOUBLE) AS share_of_plan,
        CAST(NULL AS DOUBLE) AS projected_share_of_plan,
        CAST(NULL AS VARCHAR) AS alert_rule,
        CAST(NULL AS VARCHAR) AS alert_status
    WHERE false
),

published AS (
    SELECT * FROM wanted
    UNION ALL BY NAME
    SELECT * FROM analytics.usage_billing_monthly
)

SELECT
    u.billing_month,
    u.billing_month = s.running_month AS is_running_month,
    u.api_bookings,
    u.cancelled_api_bookings,
    u.plan_included_bookings,
    u.overage_bookings,
    u.estimated_cost,
    u.currency,
    u.projected_api_bookings,
    u.projected_estimated_cost,
    coalesce(u.share_of_plan, round(u.api_bookings / nullif(u.plan_included_bookings, 0), 4))
        AS share_of_plan,
    coalesce(
        u.projected_share_of_plan,
        round(u.projected_api_bookings / nullif(u.plan_included_bookings, 0), 4)
    ) AS projected_share_of_plan,
    u.alert_rule,
    u.alert_status
FROM published AS u
CROSS JOIN analytics.report_settings AS s
WHERE u.billing_month > s.running_month - to_months(CAST($months AS INTEGER))
  AND u.billing_month <= s.running_month
ORDER BY u.billing_month
