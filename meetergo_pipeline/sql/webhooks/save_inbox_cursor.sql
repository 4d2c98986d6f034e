-- How far the PostgreSQL inbox has been read; committed with the rows read from it.
INSERT INTO raw.webhook_inbox_cursor (inbox_id, last_xid, last_id, updated_at)
VALUES ($inbox_id, $last_xid, $last_id, now())
ON CONFLICT (inbox_id) DO UPDATE
SET last_xid = excluded.last_xid, last_id = excluded.last_id, updated_at = excluded.updated_at
