-- Repeats of events already stored: count them and keep the earliest receipt.
UPDATE raw.webhook_events AS e
SET delivery_count = e.delivery_count + k.deliveries,
    received_at = least(e.received_at, k.first_received_at)
FROM webhook_batch_keys AS k
WHERE e.event_key = k.event_key
