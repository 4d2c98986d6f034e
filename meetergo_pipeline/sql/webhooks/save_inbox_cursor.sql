-- How far the PostgreSQL inbox has been read; committed with the rows read from it. A MERGE
-- on the inbox id rather than an upsert on a primary key, so it runs on a DuckLake warehouse
-- too.
MERGE INTO raw.webhook_inbox_cursor AS stored
USING (SELECT $inbox_id AS inbox_id, $last_xid AS last_xid, $last_id AS last_id) AS read
ON stored.inbox_id = read.inbox_id
WHEN MATCHED THEN
    UPDATE SET last_xid = read.last_xid, last_id = read.last_id, updated_at = now()
WHEN NOT MATCHED THEN INSERT (inbox_id, last_xid, last_id, updated_at)
    VALUES (read.inbox_id, read.last_xid, read.last_id, now())
