-- Published core.booking_events: typed fields of each booking webhook event. The event body
-- (attendees, notes, secret, meeting link) stays in raw.webhook_events in the working file.
CREATE TABLE {{published}}.core.booking_events AS
SELECT
    tenant_id,
    event_key,
    event_type,
    appointment_id,
    occurred_at,
    received_at,
    delivery_count,
    payload_format,
    meeting_type_id,
    host_user_id,
    start_at,
    end_at,
    previous_start_at,
    appointment_created_at,
    cancelled_at,
    rescheduled_at,
    reschedule_count,
    attendee_count,
    channel
FROM core.booking_events;
