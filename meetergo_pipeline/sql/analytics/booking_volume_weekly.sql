-- analytics.booking_volume_weekly: booking activity per week (Monday to Sunday in the
-- reporting time zone) and meeting type, summed from analytics.booking_volume_daily. The
-- daily table is zero-filled over its whole range for every pair that appears, so every
-- meeting type here has a row for every week of that range (0 in a week without activity).
CREATE OR REPLACE TABLE analytics.booking_volume_weekly AS
SELECT
    CAST(date_trunc('week', day) AS DATE) AS week_start,
    tenant_id,
    meeting_type_id,
    any_value(meeting_type_name) AS meeting_type_name,
    sum(bookings_created)::BIGINT AS bookings_created,
    sum(bookings_cancelled)::BIGINT AS bookings_cancelled,
    sum(bookings_rescheduled)::BIGINT AS bookings_rescheduled,
    sum(meetings_scheduled)::BIGINT AS meetings_scheduled
FROM analytics.booking_volume_daily
GROUP BY week_start, tenant_id, meeting_type_id
ORDER BY week_start, tenant_id, meeting_type_id;

COMMENT ON TABLE analytics.booking_volume_weekly IS 'Booking activity per ISO week (Monday to Sunday, reporting time zone {{reporting_timezone}}) and meeting type, all hosts together: analytics.booking_volume_daily summed by week. Zero-filled: every meeting type with any activity has a row for every week from the first to the last week with activity. The first and last week may be partial (the data''s range starts or ends inside them).';
COMMENT ON COLUMN analytics.booking_volume_weekly.week_start IS 'Monday that starts the week, in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.booking_volume_weekly.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.booking_volume_weekly.meeting_type_id IS 'Meeting type booked (NULL when unknown).';
COMMENT ON COLUMN analytics.booking_volume_weekly.meeting_type_name IS 'Name of the meeting type (core.meeting_types.name); NULL when not known.';
COMMENT ON COLUMN analytics.booking_volume_weekly.bookings_created IS 'Appointments booked in the week (by created_at).';
COMMENT ON COLUMN analytics.booking_volume_weekly.bookings_cancelled IS 'Appointments cancelled in the week (by cancelled_at), whenever they were booked.';
COMMENT ON COLUMN analytics.booking_volume_weekly.bookings_rescheduled IS 'Appointments whose latest reschedule happened in the week (by rescheduled_at).';
COMMENT ON COLUMN analytics.booking_volume_weekly.meetings_scheduled IS 'Confirmed, not deleted appointments whose meeting starts in the week (by start_at).';
