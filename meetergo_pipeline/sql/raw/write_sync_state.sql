-- Write several sync-state keys of tenant $tenant_id in one statement: $keys and $values are
-- parallel lists. A MERGE on the key rather than an upsert on a primary key, so it runs on a
-- DuckLake warehouse too (DuckLake tables have no primary keys).
MERGE INTO raw.sync_state AS stored
USING (SELECT unnest($keys) AS state_key, unnest($values) AS value) AS written
ON stored.tenant_id = $tenant_id AND stored.state_key = written.state_key
WHEN MATCHED THEN UPDATE SET value = written.value, updated_at = $now
WHEN NOT MATCHED THEN INSERT (state_key, value, updated_at, tenant_id)
    VALUES (written.state_key, written.value, $now, $tenant_id)
