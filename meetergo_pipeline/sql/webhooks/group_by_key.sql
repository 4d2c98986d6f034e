-- Deliveries of one batch collapsed onto their event key; the first receipt wins.
CREATE OR REPLACE TEMP TABLE webhook_batch_keys AS
SELECT event_key, count(*) AS deliveries, min(received_at) AS first_received_at,
       arg_min(row_id, received_at) AS first_row_id
FROM webhook_canonical
GROUP BY event_key
