-- How far a log file has been read; committed with the rows read from it.
INSERT INTO raw.webhook_log_cursor (file_name, byte_offset, updated_at)
VALUES ($file_name, $byte_offset, now())
ON CONFLICT (file_name) DO UPDATE
SET byte_offset = excluded.byte_offset, updated_at = excluded.updated_at
