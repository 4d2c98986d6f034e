-- Write several sync-state keys of tenant $tenant_id in one statement: $keys and $values are
-- parallel lists.
INSERT OR REPLACE INTO raw.sync_state (state_key, value, updated_at, tenant_id)
SELECT unnest($keys), unnest($values), $now, $tenant_id
