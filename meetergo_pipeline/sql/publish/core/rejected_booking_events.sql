-- Published core.rejected_booking_events: booking webhook events that could not form an
-- appointment row, with the reason in words. Nothing of the event bodies is in the table.
CREATE TABLE {{published}}.core.rejected_booking_events AS
SELECT
    tenant_id,
    event_key,
    appointment_id,
    event_type,
    payload_format,
    occurred_at,
    received_at,
    reason
FROM core.rejected_booking_events;
