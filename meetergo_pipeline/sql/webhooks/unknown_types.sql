-- The event types of the batch outside meetergo's documented set, for the ingest's log line.
SELECT DISTINCT event_type FROM webhook_canonical WHERE NOT is_known_type ORDER BY event_type
