-- Published core.api_appointments: each appointment as the latest API read showed it. The
-- payload (attendees, notes, secret, meeting link) stays in raw.appointments; the host list
-- is published as core.appointment_hosts, the meeting type's metadata not at all.
CREATE TABLE {{published}}.core.api_appointments AS
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
    rescheduled_at,
    reschedule_count,
    attendee_count,
    channel,
    state_as_of,
    first_read_at,
    last_read_at,
    deleted_at,
    first_read_start_at
FROM core.api_appointments;
