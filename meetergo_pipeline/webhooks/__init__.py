"""meetergo webhooks: a receiver that appends each delivery to a durable day-rotated log
(``receiver``, ``log``, ``server``, ``cli``) or, for replicated receivers, commits it to a
shared PostgreSQL inbox (``inbox``, ``inbox_writer``), both through one group commit
(``group_commit``), and the incremental load of both into
``raw.webhook_events`` (``ingest``, ``inbox_ingest``), the one reader of a body's shape
(``body`` mirrors its type and appointment-id rule for the receiver). The receiver never
opens DuckDB."""
