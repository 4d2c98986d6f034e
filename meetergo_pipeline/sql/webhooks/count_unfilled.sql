-- Rows stored before raw.webhook_events had its typed columns (the backfill fills them once).
SELECT count(*) FROM raw.webhook_events WHERE payload_format IS NULL
