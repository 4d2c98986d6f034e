-- analytics.booking_volume_daily: booking activity per day, meeting type and host, each
-- measure counted on the day its own timestamp falls on in the reporting time zone.
-- Deleted appointments (gone from the API) still count as created / cancelled / rescheduled
-- on the day that happened, but not as meetings scheduled.
CREATE OR REPLACE TABLE analytics.booking_volume_daily AS
WITH appointment_activity AS (
    SELECT 'created' AS activity, a.created_at AS activity_at, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.created_at IS NOT NULL
    UNION ALL
    SELECT 'cancelled', a.cancelled_at, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.status = 'cancelled' AND a.cancelled_at IS NOT NULL
    UNION ALL
    SELECT 'rescheduled', a.rescheduled_at, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.rescheduled_at IS NOT NULL
    UNION ALL
    SELECT 'scheduled', a.start_at, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.status = 'confirmed' AND a.deleted_at IS NULL AND a.start_at IS NOT NULL
)

SELECT
    CAST(timezone(s.reporting_timezone, x.activity_at) AS DATE) AS day,
    x.meeting_type_id,
    x.host_user_id,
    count(*) FILTER (WHERE x.activity = 'created') AS bookings_created,
    count(*) FILTER (WHERE x.activity = 'cancelled') AS bookings_cancelled,
    count(*) FILTER (WHERE x.activity = 'rescheduled') AS bookings_rescheduled,
    count(*) FILTER (WHERE x.activity = 'scheduled') AS meetings_scheduled
FROM appointment_activity AS x
CROSS JOIN analytics.report_settings AS s
GROUP BY ALL
ORDER BY day, meeting_type_id, host_user_id;

COMMENT ON TABLE analytics.booking_volume_daily IS 'Booking activity per day (reporting time zone {{reporting_timezone}}), meeting type and main host, from core.appointments. Each measure is counted on the day of its own timestamp. Deleted appointments still count as created/cancelled/rescheduled, never as meetings scheduled.';
COMMENT ON COLUMN analytics.booking_volume_daily.day IS 'Calendar day in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.booking_volume_daily.meeting_type_id IS 'Meeting type booked (NULL when unknown).';
COMMENT ON COLUMN analytics.booking_volume_daily.host_user_id IS 'Main host user of the appointment (NULL when unknown).';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_created IS 'Appointments booked on this day (by created_at).';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_cancelled IS 'Appointments cancelled on this day (by cancelled_at), whenever they were booked.';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_rescheduled IS 'Appointments whose latest reschedule happened on this day (by rescheduled_at).';
COMMENT ON COLUMN analytics.booking_volume_daily.meetings_scheduled IS 'Confirmed, not deleted appointments whose meeting starts on this day (by start_at).';
