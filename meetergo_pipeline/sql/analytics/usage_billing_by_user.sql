-- analytics.usage_billing_by_user: metered bookings per billing month and platform user.
CREATE OR REPLACE TABLE analytics.usage_billing_by_user AS
SELECT
    billing_month,
    tenant_id,
    user_id,
    any_value(email) AS email,
    count(*) AS api_bookings,
    count(*) FILTER (WHERE cancelled) AS cancelled_api_bookings
FROM analytics.metered_bookings
GROUP BY billing_month, tenant_id, user_id
ORDER BY billing_month, tenant_id, user_id;

COMMENT ON TABLE analytics.usage_billing_by_user IS 'Metered bookings per billing month (reporting time zone {{reporting_timezone}}) and platform user (the appointment''s main host). Metered rule: {{metered_booking_rule}}. Sums to analytics.usage_billing_monthly.api_bookings.';
COMMENT ON COLUMN analytics.usage_billing_by_user.billing_month IS 'First day of the billing month in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.usage_billing_by_user.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.usage_billing_by_user.user_id IS 'Platform user billed: the appointment''s main host.';
COMMENT ON COLUMN analytics.usage_billing_by_user.email IS 'E-mail of the user (NULL when not in core.users yet).';
COMMENT ON COLUMN analytics.usage_billing_by_user.api_bookings IS 'Metered bookings the user created in the month, cancelled ones included.';
COMMENT ON COLUMN analytics.usage_billing_by_user.cancelled_api_bookings IS 'Of api_bookings, those cancelled by now (still billed).';
