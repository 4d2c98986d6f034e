-- Published analytics.booking_volume_daily: counts per day, meeting type and host.
CREATE TABLE {{published}}.analytics.booking_volume_daily AS
SELECT
    day,
    meeting_type_id,
    host_user_id,
    bookings_created,
    bookings_cancelled,
    bookings_rescheduled,
    meetings_scheduled
FROM analytics.booking_volume_daily;
