-- analytics.bookings: one wide row per appointment for the questions analysts ask (when do
-- people book, how far ahead, who cancels and how late, what is metered), with names joined
-- in. Local times are the host's: the main host's time zone, else the reporting time zone
-- (also when DuckDB does not know the host's zone). Hours are computed from epoch
-- milliseconds, which is several times cheaper than epoch() of an interval.
CREATE OR REPLACE TABLE analytics.bookings AS
WITH co_hosts AS (
    SELECT tenant_id, appointment_id, count(*) AS co_host_count
    FROM core.appointment_hosts
    WHERE NOT is_main_host
    GROUP BY tenant_id, appointment_id
),

known_zones AS (
    SELECT name FROM pg_timezone_names()
),

bookings_zoned AS (
    SELECT
        a.*,
        mt.name AS meeting_type_name,
        u.full_name AS host_name,
        coalesce(z.name, s.reporting_timezone) AS local_timezone,
        coalesce(c.co_host_count, 0) AS co_host_count,
        m.appointment_id IS NOT NULL AS is_metered
    FROM core.appointments AS a
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN core.meeting_types AS mt
        ON mt.tenant_id = a.tenant_id AND mt.meeting_type_id = a.meeting_type_id
    LEFT JOIN core.users AS u ON u.tenant_id = a.tenant_id AND u.user_id = a.host_user_id
    LEFT JOIN known_zones AS z ON z.name = u.timezone
    LEFT JOIN co_hosts AS c ON c.tenant_id = a.tenant_id AND c.appointment_id = a.appointment_id
    LEFT JOIN analytics.metered_bookings AS m
        ON m.tenant_id = a.tenant_id AND m.appointment_id = a.appointment_id
),

bookings_local AS (
    SELECT
        *,
        timezone(local_timezone, start_at) AS start_local
    FROM bookings_zoned
)

SELECT
    tenant_id,
    appointment_id,
    meeting_type_id,
    meeting_type_name,
    host_user_id,
    host_name,
    co_host_count,
    status,
    source,
    created_at,
    start_at,
    end_at,
    local_timezone,
    start_local,
    isodow(start_local) AS start_weekday,
    hour(start_local) AS start_hour,
    round((epoch_ms(start_at) - epoch_ms(created_at)) / 3600000, 2) AS lead_time_hours,
    cancelled_at,
    cancelled_by,
    round((epoch_ms(start_at) - epoch_ms(cancelled_at)) / 3600000, 2)
        AS cancel_notice_hours,
    rescheduled_at,
    reschedule_count,
    original_start_at,
    attendee_count,
    channel,
    deleted_at,
    is_metered
FROM bookings_local;

COMMENT ON TABLE analytics.bookings IS 'One row per appointment (as core.appointments) with its meeting type and host names, start in the host''s local time, lead time, cancellation and reschedule facts and whether it is metered. Local times use the main host''s time zone (core.users.timezone), else the reporting time zone ({{reporting_timezone}}). Hour figures are hours of elapsed time, rounded to 2 decimals.';
COMMENT ON COLUMN analytics.bookings.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.bookings.appointment_id IS 'meetergo appointment id (UUID).';
COMMENT ON COLUMN analytics.bookings.meeting_type_id IS 'Meeting type booked.';
COMMENT ON COLUMN analytics.bookings.meeting_type_name IS 'Name of the meeting type (core.meeting_types.name); NULL when the meeting type is not known.';
COMMENT ON COLUMN analytics.bookings.host_user_id IS 'Main host user (core.appointments.host_user_id).';
COMMENT ON COLUMN analytics.bookings.host_name IS 'Display name of the main host (core.users.full_name); NULL when the user is not known.';
COMMENT ON COLUMN analytics.bookings.co_host_count IS 'Hosts besides the main host (core.appointment_hosts rows with is_main_host false); 0 for a single host.';
COMMENT ON COLUMN analytics.bookings.status IS 'cancelled | confirmed (core.appointments.status).';
COMMENT ON COLUMN analytics.bookings.source IS 'Where the state comes from: api, api+webhook or webhook (core.appointments.source).';
COMMENT ON COLUMN analytics.bookings.created_at IS 'When the booking was made (UTC instant).';
COMMENT ON COLUMN analytics.bookings.start_at IS 'Meeting start (UTC instant), after any reschedule.';
COMMENT ON COLUMN analytics.bookings.end_at IS 'Meeting end (UTC instant).';
COMMENT ON COLUMN analytics.bookings.local_timezone IS 'IANA time zone of start_local: the main host''s time zone, else (no host, no zone, or one DuckDB does not know) the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.bookings.start_local IS 'Meeting start as wall-clock time in local_timezone (TIMESTAMP without zone).';
COMMENT ON COLUMN analytics.bookings.start_weekday IS 'ISO weekday of start_local: 1 = Monday ... 7 = Sunday (dayname(start_local) gives the name).';
COMMENT ON COLUMN analytics.bookings.start_hour IS 'Hour of day of start_local, 0-23.';
COMMENT ON COLUMN analytics.bookings.lead_time_hours IS 'Hours from created_at to start_at (the current start, after reschedules); NULL when either is unknown.';
COMMENT ON COLUMN analytics.bookings.cancelled_at IS 'When it was cancelled (UTC instant); NULL when confirmed.';
COMMENT ON COLUMN analytics.bookings.cancelled_by IS 'attendee | host | api: who cancelled, mapped from meetergo''s cancel.actionSource (core.appointments.cancelled_by lists the spellings). NULL when confirmed, when no source was sent, or for a source outside the mapping (core.appointments.cancel_source shows it).';
COMMENT ON COLUMN analytics.bookings.cancel_notice_hours IS 'Hours from cancelled_at to start_at: how much notice the cancellation gave (negative when cancelled after the start). NULL when confirmed.';
COMMENT ON COLUMN analytics.bookings.rescheduled_at IS 'When it was last rescheduled (UTC instant); NULL when never.';
COMMENT ON COLUMN analytics.bookings.reschedule_count IS 'Number of reschedules.';
COMMENT ON COLUMN analytics.bookings.original_start_at IS 'First start seen for the meeting (UTC instant; see core.appointments.original_start_at); equals start_at when never rescheduled.';
COMMENT ON COLUMN analytics.bookings.attendee_count IS 'Number of attendees.';
COMMENT ON COLUMN analytics.bookings.channel IS 'Meeting location channel (zoom, google, phone, ...). Not the booking source.';
COMMENT ON COLUMN analytics.bookings.deleted_at IS 'When the appointment was first found missing from the API (UTC instant); NULL while listed.';
COMMENT ON COLUMN analytics.bookings.is_metered IS 'True when the booking is in analytics.metered_bookings (counts toward usage-based billing).';
