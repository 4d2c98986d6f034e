-- Published analytics.usage_billing_by_user: metered bookings per month and platform user
-- (email is the user's own).
CREATE TABLE {{published}}.analytics.usage_billing_by_user AS
SELECT
    tenant_id,
    billing_month,
    user_id,
    email,
    api_bookings,
    cancelled_api_bookings
FROM analytics.usage_billing_by_user;
