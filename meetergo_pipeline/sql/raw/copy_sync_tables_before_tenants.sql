-- The sync tables set aside by migrate_sync_tables.sql, copied into the tables the raw schema
-- created anew, every row becoming the default tenant's; then the set-aside tables dropped.
INSERT INTO raw.sync_state BY NAME
SELECT *, 'default' AS tenant_id FROM raw.sync_state_before_tenants;

INSERT INTO raw.sync_runs BY NAME
SELECT *, 'default' AS tenant_id FROM raw.sync_runs_before_tenants;

DROP TABLE raw.sync_state_before_tenants;
DROP TABLE raw.sync_runs_before_tenants;
