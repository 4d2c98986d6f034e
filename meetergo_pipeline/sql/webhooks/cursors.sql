-- How far each webhook log file has been read: file name -> byte offset.
SELECT file_name, byte_offset FROM raw.webhook_log_cursor
