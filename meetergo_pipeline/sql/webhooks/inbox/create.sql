-- PostgreSQL (psycopg2), not DuckDB: the inbox's tables, created when missing by the first
-- receiver or ingest to connect. The advisory lock keeps two of them from racing through
-- CREATE TABLE IF NOT EXISTS, which PostgreSQL does not serialise on its own.
--
-- meetergo_webhook_inbox: one accepted delivery per row. body is the receiver's one-line JSON
-- object text as bytes, exactly as the local log would wrap it. xid is the inserting
-- transaction's id: the ingest reads a row only once every transaction that started before
-- it has ended (see read_rows.sql), so a row committed late below a higher id is not skipped.
-- meetergo_webhook_inbox_quarantine: what the receivers refused (and the ingest could not
-- use), with the reason and the raw bytes. meetergo_webhook_inbox_identity: one row, the
-- inbox's id; the ingest keeps its cursor under it, so a new inbox starts a new cursor.
SELECT pg_advisory_xact_lock(hashtext('meetergo_webhook_inbox'));

CREATE TABLE IF NOT EXISTS meetergo_webhook_inbox (
    id          bigserial PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    received_at timestamptz NOT NULL,
    body        bytea NOT NULL
);

CREATE INDEX IF NOT EXISTS meetergo_webhook_inbox_xid_id ON meetergo_webhook_inbox (xid, id);

CREATE TABLE IF NOT EXISTS meetergo_webhook_inbox_quarantine (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    reason      text NOT NULL,
    size        integer NOT NULL,
    raw         bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS meetergo_webhook_inbox_identity (
    inbox_id   uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO meetergo_webhook_inbox_identity (inbox_id)
SELECT gen_random_uuid()
WHERE NOT EXISTS (SELECT FROM meetergo_webhook_inbox_identity);
