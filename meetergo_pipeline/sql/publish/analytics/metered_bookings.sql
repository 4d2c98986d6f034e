-- Published analytics.metered_bookings: one row per metered booking. email is the host's
-- (the customer's own employee), not an attendee's.
CREATE TABLE {{published}}.analytics.metered_bookings AS
SELECT
    tenant_id,
    appointment_id,
    user_id,
    email,
    created_at,
    billing_month,
    cancelled,
    cancelled_at
FROM analytics.metered_bookings;
