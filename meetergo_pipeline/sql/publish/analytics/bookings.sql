-- Published analytics.bookings: one wide row per appointment. Hosts are the customer's own
-- employees (names published); attendees appear only as attendee_count, and neither notes nor
-- who cancelled by name (cancelled_by is a category) leave the working file.
CREATE TABLE {{published}}.analytics.bookings AS
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
    start_weekday,
    start_hour,
    lead_time_hours,
    cancelled_at,
    cancelled_by,
    cancel_notice_hours,
    rescheduled_at,
    reschedule_count,
    original_start_at,
    attendee_count,
    channel,
    deleted_at,
    is_metered
FROM analytics.bookings;
