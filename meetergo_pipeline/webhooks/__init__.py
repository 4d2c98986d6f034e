"""meetergo webhooks: a receiver that appends each delivery to a durable day-rotated log
(``receiver``, ``log``, ``server``, ``cli``) and the incremental load of that log into
``raw.webhook_events`` (``ingest``). The receiver never opens DuckDB."""
