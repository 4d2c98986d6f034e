-- Events not stored yet for tenant $tenant_id (the log file's, see webhooks/log.py): one row
-- each, typed columns from canonical_events.sql, the body of the first receipt.
INSERT INTO raw.webhook_events
    (event_key, event_type, event_type_as_sent, payload_format, appointment_id, user_id,
     entity_path, occurred_at, received_at, delivery_count, body, source_file, tenant_id)
SELECT k.event_key, c.event_type, c.event_type_as_sent, c.payload_format, c.appointment_id,
       c.user_id, c.entity_path, c.occurred_at, k.first_received_at, k.deliveries, b.body,
       $source_file, $tenant_id
FROM webhook_batch_keys AS k
JOIN webhook_canonical AS c ON c.row_id = k.first_row_id
JOIN webhook_bodies AS b ON b.row_id = k.first_row_id
ANTI JOIN raw.webhook_events AS e ON e.tenant_id = $tenant_id AND e.event_key = k.event_key
