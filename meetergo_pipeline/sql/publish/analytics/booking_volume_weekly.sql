-- Published analytics.booking_volume_weekly: counts per week and meeting type.
CREATE TABLE {{published}}.analytics.booking_volume_weekly AS
SELECT
    tenant_id,
    week_start,
    meeting_type_id,
    meeting_type_name,
    bookings_created,
    bookings_cancelled,
    bookings_rescheduled,
    meetings_scheduled
FROM analytics.booking_volume_weekly;
