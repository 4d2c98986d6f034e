-- analytics.booking_volume_daily: booking activity per day, meeting type and host, each
-- measure counted on the day its own timestamp falls on in the reporting time zone.
-- Zero-filled: every (meeting type, host) pair that has any activity gets a row for every day
-- from the first to the last day with activity of any pair (range x pairs, nothing more).
-- Deleted appointments (gone from the API) still count as created / cancelled / rescheduled
-- on the day that happened, but not as meetings scheduled. A timestamp outside the years
-- 1900 to 2199 (infinity or year 294247, which a malformed payload can carry) counts on no day.
CREATE OR REPLACE TABLE analytics.booking_volume_daily AS
WITH appointment_activity AS (
    SELECT
        'created' AS activity,
        a.created_at AS activity_at,
        a.tenant_id,
        a.meeting_type_id,
        a.host_user_id
    FROM core.appointments AS a
    WHERE a.created_at BETWEEN '1900-01-01' AND '2200-01-01'
    UNION ALL
    SELECT 'cancelled', a.cancelled_at, a.tenant_id, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.status = 'cancelled' AND a.cancelled_at BETWEEN '1900-01-01' AND '2200-01-01'
    UNION ALL
    SELECT 'rescheduled', a.rescheduled_at, a.tenant_id, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.rescheduled_at BETWEEN '1900-01-01' AND '2200-01-01'
    UNION ALL
    SELECT 'scheduled', a.start_at, a.tenant_id, a.meeting_type_id, a.host_user_id
    FROM core.appointments AS a
    WHERE a.status = 'confirmed' AND a.deleted_at IS NULL AND a.start_at BETWEEN '1900-01-01' AND '2200-01-01'
),

activity_per_day AS (
    SELECT
        CAST(timezone(s.reporting_timezone, x.activity_at) AS DATE) AS day,
        x.tenant_id,
        x.meeting_type_id,
        x.host_user_id,
        count(*) FILTER (WHERE x.activity = 'created') AS bookings_created,
        count(*) FILTER (WHERE x.activity = 'cancelled') AS bookings_cancelled,
        count(*) FILTER (WHERE x.activity = 'rescheduled') AS bookings_rescheduled,
        count(*) FILTER (WHERE x.activity = 'scheduled') AS meetings_scheduled
    FROM appointment_activity AS x
    CROSS JOIN analytics.report_settings AS s
    GROUP BY ALL
),

days AS (
    SELECT CAST(unnest(generate_series(
        CAST(min(day) AS TIMESTAMP), CAST(max(day) AS TIMESTAMP), INTERVAL 1 DAY
    )) AS DATE) AS day
    FROM activity_per_day
),

pairs AS (
    SELECT DISTINCT tenant_id, meeting_type_id, host_user_id FROM activity_per_day
)

SELECT
    d.day,
    p.tenant_id,
    p.meeting_type_id,
    mt.name AS meeting_type_name,
    p.host_user_id,
    u.full_name AS host_name,
    coalesce(v.bookings_created, 0) AS bookings_created,
    coalesce(v.bookings_cancelled, 0) AS bookings_cancelled,
    coalesce(v.bookings_rescheduled, 0) AS bookings_rescheduled,
    coalesce(v.meetings_scheduled, 0) AS meetings_scheduled
FROM days AS d
CROSS JOIN pairs AS p
LEFT JOIN activity_per_day AS v
    ON v.day = d.day
    AND v.tenant_id = p.tenant_id
    AND v.meeting_type_id IS NOT DISTINCT FROM p.meeting_type_id
    AND v.host_user_id IS NOT DISTINCT FROM p.host_user_id
LEFT JOIN core.meeting_types AS mt
    ON mt.tenant_id = p.tenant_id AND mt.meeting_type_id = p.meeting_type_id
LEFT JOIN core.users AS u ON u.tenant_id = p.tenant_id AND u.user_id = p.host_user_id;
-- No ORDER BY: the zero-filled rows run to days x pairs (720,000 for 200 small tenants), and
-- sorting them outgrew the 192 MB memory cap. Query with ORDER BY where order matters.

COMMENT ON TABLE analytics.booking_volume_daily IS 'Booking activity per day (reporting time zone {{reporting_timezone}}), meeting type and main host, from core.appointments. Each measure is counted on the day of its own timestamp. Zero-filled: every meeting type and host pair with any activity has a row for every day from the first to the last day with activity (days without any show 0). Deleted appointments still count as created/cancelled/rescheduled, never as meetings scheduled.';
COMMENT ON COLUMN analytics.booking_volume_daily.day IS 'Calendar day in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.booking_volume_daily.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.booking_volume_daily.meeting_type_id IS 'Meeting type booked (NULL when unknown).';
COMMENT ON COLUMN analytics.booking_volume_daily.meeting_type_name IS 'Name of the meeting type (core.meeting_types.name); NULL when not known.';
COMMENT ON COLUMN analytics.booking_volume_daily.host_user_id IS 'Main host user of the appointment (NULL when unknown).';
COMMENT ON COLUMN analytics.booking_volume_daily.host_name IS 'Display name of the host (core.users.full_name); NULL when not known.';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_created IS 'Appointments booked on this day (by created_at).';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_cancelled IS 'Appointments cancelled on this day (by cancelled_at), whenever they were booked.';
COMMENT ON COLUMN analytics.booking_volume_daily.bookings_rescheduled IS 'Appointments whose latest reschedule happened on this day (by rescheduled_at).';
COMMENT ON COLUMN analytics.booking_volume_daily.meetings_scheduled IS 'Confirmed, not deleted appointments whose meeting starts on this day (by start_at).';
