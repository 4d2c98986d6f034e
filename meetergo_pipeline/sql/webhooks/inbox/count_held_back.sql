-- PostgreSQL: committed rows at or above the horizon, which the ingest leaves for a later run
-- (they wait for an older transaction to end).
SELECT count(*) FROM meetergo_webhook_inbox WHERE xid >= %(horizon)s::text::xid8
