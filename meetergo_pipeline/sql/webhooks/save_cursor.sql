-- How far a log file has been read; committed with the rows read from it. A MERGE on the
-- file name rather than an upsert on a primary key, so it runs on a DuckLake warehouse too.
MERGE INTO raw.webhook_log_cursor AS stored
USING (SELECT $file_name AS file_name, $byte_offset AS byte_offset) AS read
ON stored.file_name = read.file_name
WHEN MATCHED THEN UPDATE SET byte_offset = read.byte_offset, updated_at = now()
WHEN NOT MATCHED THEN INSERT (file_name, byte_offset, updated_at)
    VALUES (read.file_name, read.byte_offset, now())
