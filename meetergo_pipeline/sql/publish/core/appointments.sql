-- Published core.appointments: the latest known state of each appointment. Attendees appear
-- only as counts here and as pseudonyms in core.appointment_attendees.
CREATE TABLE {{published}}.core.appointments AS
SELECT
    tenant_id,
    appointment_id,
    meeting_type_id,
    host_user_id,
    start_at,
    end_at,
    created_at,
    updated_at,
    status,
    cancelled_at,
    cancel_source,
    cancelled_by,
    rescheduled_at,
    reschedule_count,
    original_start_at,
    attendee_count,
    channel,
    deleted_at,
    source,
    last_api_read_at,
    last_event_at
FROM core.appointments;
