-- Published analytics.booking_volume_daily: counts per day, meeting type and host (hosts are
-- the customer's own employees, so their names are published).
CREATE TABLE {{published}}.analytics.booking_volume_daily AS
SELECT
    tenant_id,
    day,
    meeting_type_id,
    meeting_type_name,
    host_user_id,
    host_name,
    bookings_created,
    bookings_cancelled,
    bookings_rescheduled,
    meetings_scheduled
FROM analytics.booking_volume_daily;
