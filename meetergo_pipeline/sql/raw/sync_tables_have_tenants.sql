-- Whether raw.sync_state already has its tenant_id column (else migrate_sync_tables.sql).
SELECT count(*) > 0
FROM duckdb_columns()
WHERE database_name = current_database()
  AND schema_name = 'raw' AND table_name = 'sync_state' AND column_name = 'tenant_id'
