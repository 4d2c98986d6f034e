-- analytics.host_activity_monthly: per host and month, the bookings made in that month
-- (created_at in the reporting time zone) that the user hosts, as main host or co-host
-- (core.appointment_hosts), and what became of them: cancellations, reschedules, lead time.
-- Every figure is about the same bookings (a cohort by booking month), so the rates are
-- shares of bookings. Only months with bookings have rows.
CREATE OR REPLACE TABLE analytics.host_activity_monthly AS
WITH hosted_bookings AS (
    SELECT
        h.tenant_id,
        h.user_id,
        h.is_main_host,
        CAST(date_trunc('month', timezone(s.reporting_timezone, b.created_at)) AS DATE) AS month,
        b.status,
        b.reschedule_count,
        b.lead_time_hours
    FROM analytics.bookings AS b
    JOIN core.appointment_hosts AS h
        ON h.tenant_id = b.tenant_id AND h.appointment_id = b.appointment_id
    CROSS JOIN analytics.report_settings AS s
    WHERE b.created_at IS NOT NULL
),

per_host_month AS (
    SELECT
        tenant_id,
        user_id,
        month,
        count(*) AS bookings,
        count(*) FILTER (WHERE NOT is_main_host) AS co_hosted_bookings,
        count(*) FILTER (WHERE status = 'cancelled') AS cancellations,
        count(*) FILTER (WHERE reschedule_count > 0) AS rescheduled_bookings,
        median(lead_time_hours) AS median_lead_time_hours
    FROM hosted_bookings
    GROUP BY tenant_id, user_id, month
)

SELECT
    p.month,
    p.tenant_id,
    p.user_id AS host_user_id,
    u.full_name AS host_name,
    p.bookings,
    p.co_hosted_bookings,
    p.cancellations,
    round(p.cancellations / p.bookings, 4) AS cancellation_rate,
    p.rescheduled_bookings,
    round(p.rescheduled_bookings / p.bookings, 4) AS reschedule_rate,
    round(p.median_lead_time_hours, 2) AS median_lead_time_hours
FROM per_host_month AS p
LEFT JOIN core.users AS u ON u.tenant_id = p.tenant_id AND u.user_id = p.user_id
ORDER BY p.month, p.tenant_id, p.user_id;

COMMENT ON TABLE analytics.host_activity_monthly IS 'Per host and month (reporting time zone {{reporting_timezone}}): the bookings made in the month that the user hosts, as main host or co-host (core.appointment_hosts), and the share of them cancelled or rescheduled by now. A cohort by booking month: a cancellation counts in the month the booking was made. Only months with bookings have rows.';
COMMENT ON COLUMN analytics.host_activity_monthly.month IS 'First day of the month the bookings were made in (created_at), reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.host_activity_monthly.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.host_activity_monthly.host_user_id IS 'Host user (core.users.user_id).';
COMMENT ON COLUMN analytics.host_activity_monthly.host_name IS 'Display name of the host (core.users.full_name); NULL when not known.';
COMMENT ON COLUMN analytics.host_activity_monthly.bookings IS 'Appointments booked in the month that the user hosts, as main host or co-host (cancelled and deleted ones included).';
COMMENT ON COLUMN analytics.host_activity_monthly.co_hosted_bookings IS 'Of bookings, those the user co-hosts (someone else is the main host).';
COMMENT ON COLUMN analytics.host_activity_monthly.cancellations IS 'Of bookings, those cancelled by now.';
COMMENT ON COLUMN analytics.host_activity_monthly.cancellation_rate IS 'cancellations / bookings, rounded to 4 decimals.';
COMMENT ON COLUMN analytics.host_activity_monthly.rescheduled_bookings IS 'Of bookings, those rescheduled at least once by now.';
COMMENT ON COLUMN analytics.host_activity_monthly.reschedule_rate IS 'rescheduled_bookings / bookings, rounded to 4 decimals.';
COMMENT ON COLUMN analytics.host_activity_monthly.median_lead_time_hours IS 'Median of the bookings'' lead time in hours (created_at to start_at, analytics.bookings.lead_time_hours; interpolated between the middle two for an even count), rounded to 2 decimals; NULL when no booking has a start.';
