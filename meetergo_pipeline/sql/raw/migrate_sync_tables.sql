-- Files made before tenants existed: raw.sync_state and raw.sync_runs were keyed by
-- state_key / run_id alone. Both are rebuilt keyed per tenant, every row becoming the
-- default tenant's. Run once, in one transaction, when raw.sync_state has no tenant_id.
ALTER TABLE raw.sync_state RENAME TO sync_state_before_tenants;
ALTER TABLE raw.sync_runs RENAME TO sync_runs_before_tenants;

CREATE TABLE raw.sync_state (
    state_key  VARCHAR NOT NULL,
    value      VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    tenant_id  VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (tenant_id, state_key)
);
INSERT INTO raw.sync_state SELECT *, 'default' FROM raw.sync_state_before_tenants;

CREATE TABLE raw.sync_runs (
    run_id         VARCHAR NOT NULL,
    mode           VARCHAR NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    requests_spent INTEGER NOT NULL,
    users_seen     INTEGER NOT NULL,
    meeting_types_seen INTEGER NOT NULL,
    appointments_seen  INTEGER NOT NULL,
    api_user_total     INTEGER,
    users_live         INTEGER NOT NULL,
    appointments_live  INTEGER NOT NULL,
    tenant_id          VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (tenant_id, run_id)
);
INSERT INTO raw.sync_runs SELECT *, 'default' FROM raw.sync_runs_before_tenants;

DROP TABLE raw.sync_state_before_tenants;
DROP TABLE raw.sync_runs_before_tenants;
