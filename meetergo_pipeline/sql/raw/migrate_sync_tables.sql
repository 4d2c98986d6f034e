-- Files made before tenants existed: raw.sync_state and raw.sync_runs were keyed by
-- state_key / run_id alone. Both are set aside here, created anew by the raw schema's DDL
-- (schema.sql, keyed per tenant), then filled by copy_sync_tables_before_tenants.sql. Run
-- once, in one transaction, when raw.sync_state has no tenant_id.
ALTER TABLE raw.sync_state RENAME TO sync_state_before_tenants;
ALTER TABLE raw.sync_runs RENAME TO sync_runs_before_tenants;
