-- Raw layer: one row per entity id as the meetergo API (or the webhook log) last showed it.
-- The full JSON payload travels beside a few typed key columns; nothing is ever deleted
-- physically: rows that vanish from the API get deleted_at.
--
-- The API tables are written only by the merges beside this file (merge_*.sql), and
-- raw.webhook_events only by the ingest's anti-join insert: both keep keys unique (the core
-- layer's unique-id checks verify it). These tables carry no PRIMARY KEY: its index cost
-- memory and time on every batch (a 1M-event ingest ran out of a 192 MB cap) and bought
-- nothing the writes do not already give.
-- Every table carries tenant_id, the tenant (meetergo account) a row belongs to: ids are
-- unique per tenant, not across them. A single-tenant deployment's tenant is `default`.
-- Payloads are stored with zstd: JSON compresses about 3x better than with DuckDB's default
-- choice for strings, and a checkpoint takes a third of the time.
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.users (
    user_id           VARCHAR NOT NULL,
    payload           JSON NOT NULL USING COMPRESSION zstd,
    source_updated_at TIMESTAMPTZ,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    tenant_id         VARCHAR NOT NULL DEFAULT 'default'
);

CREATE TABLE IF NOT EXISTS raw.meeting_types (
    meeting_type_id   VARCHAR NOT NULL,
    user_id           VARCHAR,
    payload           JSON NOT NULL USING COMPRESSION zstd,
    source_updated_at TIMESTAMPTZ,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    tenant_id         VARCHAR NOT NULL DEFAULT 'default'
);

CREATE TABLE IF NOT EXISTS raw.appointments (
    appointment_id    VARCHAR NOT NULL,
    created_at        TIMESTAMPTZ,
    start_at          TIMESTAMPTZ,
    payload           JSON NOT NULL USING COMPRESSION zstd,
    source_updated_at TIMESTAMPTZ,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    first_start_at    TIMESTAMPTZ,          -- start as the first read showed it (kept on re-reads)
    fields            {{fields_type}} NOT NULL, -- appointment_fields(payload): the fields read downstream
    tenant_id         VARCHAR NOT NULL DEFAULT 'default'
);

-- One row per distinct webhook event (at-least-once deliveries collapse onto event_key). The
-- ingest is the one reader of the body's two shapes: it writes the typed columns with
-- sql/webhooks/canonical_events.sql, which documents each rule.
CREATE TABLE IF NOT EXISTS raw.webhook_events (
    event_key         VARCHAR NOT NULL,     -- md5 of folded type, appointment id, source time, body hash
    event_type        VARCHAR NOT NULL,     -- folded (booking_cancelled, new_employee, ...); others normalised
    appointment_id    VARCHAR,              -- booking_* events only (flat: id; legacy: data.appointmentId or data.id)
    occurred_at       TIMESTAMPTZ,          -- source time of the change by folded type, else received_at
    received_at       TIMESTAMPTZ NOT NULL, -- first receipt
    delivery_count    INTEGER NOT NULL,
    body              JSON NOT NULL USING COMPRESSION zstd,  -- the delivery body exactly as received
    source_file       VARCHAR NOT NULL,
    event_type_as_sent VARCHAR,             -- webhookType (flat) or event (legacy) exactly as sent
    payload_format    VARCHAR,              -- flat | legacy
    user_id           VARCHAR,              -- new_employee events only: the announced user's id
    entity_path       VARCHAR,              -- JSON path of the appointment's / user's fields in body
    tenant_id         VARCHAR NOT NULL DEFAULT 'default'  -- the receiver URL's tenant
);

-- Files made before the typed columns existed get them here; connect_writer then fills them
-- once from each row's body (webhooks.ingest.backfill_webhook_events), so they are NULL only
-- in between.
ALTER TABLE raw.webhook_events ADD COLUMN IF NOT EXISTS event_type_as_sent VARCHAR;
ALTER TABLE raw.webhook_events ADD COLUMN IF NOT EXISTS payload_format VARCHAR;
ALTER TABLE raw.webhook_events ADD COLUMN IF NOT EXISTS user_id VARCHAR;
ALTER TABLE raw.webhook_events ADD COLUMN IF NOT EXISTS entity_path VARCHAR;
-- Files made before first_start_at existed: NULL until the row's next read fills it with the
-- start stored until then (the earliest still known).
ALTER TABLE raw.appointments ADD COLUMN IF NOT EXISTS first_start_at TIMESTAMPTZ;
-- Files made before tenants existed: every row is the default tenant's.
ALTER TABLE raw.users ADD COLUMN IF NOT EXISTS tenant_id VARCHAR DEFAULT 'default';
ALTER TABLE raw.meeting_types ADD COLUMN IF NOT EXISTS tenant_id VARCHAR DEFAULT 'default';
ALTER TABLE raw.appointments ADD COLUMN IF NOT EXISTS tenant_id VARCHAR DEFAULT 'default';
ALTER TABLE raw.webhook_events ADD COLUMN IF NOT EXISTS tenant_id VARCHAR DEFAULT 'default';

-- Cursor into each webhook log file; committed in the same transaction as the rows read.
CREATE TABLE IF NOT EXISTS raw.webhook_log_cursor (
    file_name   VARCHAR PRIMARY KEY,
    byte_offset BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Cursor into each PostgreSQL inbox (MEETERGO_WEBHOOK_INBOX_URL), by the inbox's id: the
-- (transaction id, row id) of the last row read; committed with the rows read.
CREATE TABLE IF NOT EXISTS raw.webhook_inbox_cursor (
    inbox_id   VARCHAR PRIMARY KEY,
    last_xid   UBIGINT NOT NULL,
    last_id    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Sync state (high-water marks, last sweep) per tenant; written in the same transaction as
-- the data. (Files made before tenants existed are moved over by migrate_sync_tables.sql.)
CREATE TABLE IF NOT EXISTS raw.sync_state (
    state_key  VARCHAR NOT NULL,
    value      VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    tenant_id  VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (tenant_id, state_key)
);

-- One row per sync run and tenant: what it did and the requests it spent.
CREATE TABLE IF NOT EXISTS raw.sync_runs (
    run_id         VARCHAR NOT NULL,
    mode           VARCHAR NOT NULL,  -- incremental | full
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    requests_spent INTEGER NOT NULL,
    users_seen     INTEGER NOT NULL,
    meeting_types_seen INTEGER NOT NULL,
    appointments_seen  INTEGER NOT NULL,
    api_user_total     INTEGER,           -- `total` reported by GET /v4/user
    users_live         INTEGER NOT NULL,  -- the tenant's rows without deleted_at after the run
    appointments_live  INTEGER NOT NULL,
    tenant_id          VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (tenant_id, run_id)
);
