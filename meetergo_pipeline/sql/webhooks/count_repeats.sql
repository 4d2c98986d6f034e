-- Repeats of events of tenant $tenant_id already stored: count them and keep the earliest receipt.
UPDATE raw.webhook_events AS e
SET delivery_count = e.delivery_count + k.deliveries,
    received_at = least(e.received_at, k.first_received_at)
FROM webhook_batch_keys AS k
WHERE e.tenant_id = $tenant_id AND e.event_key = k.event_key
