-- How far the PostgreSQL inbox with this id has been read: the (xid, id) of the last row.
SELECT last_xid, last_id FROM raw.webhook_inbox_cursor WHERE inbox_id = $inbox_id
