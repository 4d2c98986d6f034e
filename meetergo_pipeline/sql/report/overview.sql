-- The report's frame, read from the published snapshot: when the marts were built (in the
-- reporting time zone), the running billing month, the first week the weekly charts show
-- ($weeks full weeks up to and including the week of as_of, weeks starting on Monday) and
-- the live appointments (not deleted) as they stand.
SELECT
    strftime(timezone(s.reporting_timezone, s.as_of), '%Y-%m-%d %H:%M') AS as_of_local,
    s.reporting_timezone,
    s.running_month,
    s.plan_currency,
    CAST(
        date_trunc('week', CAST(timezone(s.reporting_timezone, s.as_of) AS DATE))
        - to_weeks(CAST($weeks AS INTEGER) - 1)
        AS DATE
    ) AS first_week,
    CAST(date_trunc('week', CAST(timezone(s.reporting_timezone, s.as_of) AS DATE)) AS DATE)
        AS last_week,
    count(a.appointment_id) AS appointments,
    count(a.appointment_id) FILTER (WHERE a.status = 'confirmed') AS confirmed,
    count(a.appointment_id) FILTER (WHERE a.status = 'cancelled') AS cancelled,
    count(a.appointment_id) FILTER (WHERE a.reschedule_count > 0) AS rescheduled
FROM analytics.report_settings AS s
LEFT JOIN core.appointments AS a ON a.deleted_at IS NULL
GROUP BY ALL
