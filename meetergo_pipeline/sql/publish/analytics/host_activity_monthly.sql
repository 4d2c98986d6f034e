-- Published analytics.host_activity_monthly: per host and month (host names are the customer's
-- own employees').
CREATE TABLE {{published}}.analytics.host_activity_monthly AS
SELECT
    tenant_id,
    month,
    host_user_id,
    host_name,
    bookings,
    co_hosted_bookings,
    cancellations,
    cancellation_rate,
    rescheduled_bookings,
    reschedule_rate,
    median_lead_time_hours
FROM analytics.host_activity_monthly;
