"""meetergo webhooks: a receiver that appends each delivery to a durable day-rotated log
(``receiver``, ``log``, ``server``, ``cli``) and the incremental load of that log into
``raw.webhook_events`` (``ingest``), the one reader of a body's shape (``body`` mirrors its
type and appointment-id rule for the receiver). The receiver never opens DuckDB."""
