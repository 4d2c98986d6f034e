-- PostgreSQL, first statement of the ingest's REPEATABLE READ transaction: the inbox's id,
-- the horizon (the oldest transaction still running: every transaction below it has ended, so
-- every row it will ever hold below it is visible now) and the next transaction id to be
-- assigned (no row can have an xid at or above it yet).
SELECT
    (SELECT inbox_id::text FROM meetergo_webhook_inbox_identity LIMIT 1),
    pg_snapshot_xmin(pg_current_snapshot())::text,
    pg_snapshot_xmax(pg_current_snapshot())::text
