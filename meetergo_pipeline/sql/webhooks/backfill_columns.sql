-- Those rows' typed columns from canonical_events.sql. event_key is an identity and stays as
-- it was stored.
UPDATE raw.webhook_events AS e
SET event_type = c.event_type,
    event_type_as_sent = c.event_type_as_sent,
    payload_format = c.payload_format,
    appointment_id = c.appointment_id,
    user_id = c.user_id,
    entity_path = c.entity_path,
    occurred_at = c.occurred_at
FROM webhook_canonical AS c
WHERE e.event_key = c.row_id
