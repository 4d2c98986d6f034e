-- Rows stored before raw.webhook_events had its typed columns, as the input of
-- canonical_events.sql (row_id = their event_key).
CREATE OR REPLACE TEMP VIEW webhook_bodies AS
SELECT event_key AS row_id, body, received_at
FROM raw.webhook_events
WHERE payload_format IS NULL
