-- Published core.api_appointments: each appointment as the latest API read showed it. The
-- payload (attendees, notes, secret, meeting link) stays in raw.appointments.
CREATE TABLE {{published}}.core.api_appointments AS
SELECT
    appointment_id,
    meeting_type_id,
    host_user_id,
    start_at,
    end_at,
    created_at,
    updated_at,
    status,
    cancelled_at,
    rescheduled_at,
    reschedule_count,
    attendee_count,
    channel,
    state_as_of,
    first_read_at,
    last_read_at,
    deleted_at
FROM core.api_appointments;
