-- analytics.metered_bookings: the bookings that count toward usage-based billing. meetergo
-- marks no booking as "created via the API", so the rule is configuration: a boolean SQL
-- predicate (MEETERGO_METERED_BOOKING_PREDICATE) substituted into the WHERE clause below, over
-- core.appointments a LEFT JOIN core.users u (u = the appointment's main host). The runner
-- validates it (one statement, binds, BOOLEAN) before this runs.
CREATE OR REPLACE TABLE analytics.metered_bookings AS
SELECT
    a.appointment_id,
    a.host_user_id AS user_id,
    u.email,
    a.created_at,
    CAST(date_trunc('month', timezone(s.reporting_timezone, a.created_at)) AS DATE)
        AS billing_month,
    a.status = 'cancelled' AS cancelled,
    a.cancelled_at
FROM core.appointments AS a
LEFT JOIN core.users AS u ON u.user_id = a.host_user_id
CROSS JOIN analytics.report_settings AS s
WHERE a.created_at IS NOT NULL
  AND ({{metered_booking_predicate}})
ORDER BY a.created_at, a.appointment_id;

COMMENT ON TABLE analytics.metered_bookings IS 'Bookings metered for usage-based billing, one row per appointment. Rule (env MEETERGO_METERED_BOOKING_PREDICATE) over core.appointments a LEFT JOIN core.users u ON u.user_id = a.host_user_id: {{metered_booking_rule}}. A booking is metered in the month it was created, whatever happens to it later (cancelled and deleted bookings still count); appointments with unknown created_at are left out.';
COMMENT ON COLUMN analytics.metered_bookings.appointment_id IS 'Metered appointment.';
COMMENT ON COLUMN analytics.metered_bookings.user_id IS 'Platform user billed for it: the appointment''s main host.';
COMMENT ON COLUMN analytics.metered_bookings.email IS 'E-mail of that user (NULL when the user is not in core.users yet).';
COMMENT ON COLUMN analytics.metered_bookings.created_at IS 'When the booking was made (UTC instant).';
COMMENT ON COLUMN analytics.metered_bookings.billing_month IS 'First day of the month of created_at in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.metered_bookings.cancelled IS 'True when the booking is cancelled now. Cancelling does not refund the metered booking.';
COMMENT ON COLUMN analytics.metered_bookings.cancelled_at IS 'When it was cancelled (UTC instant); NULL when confirmed.';
