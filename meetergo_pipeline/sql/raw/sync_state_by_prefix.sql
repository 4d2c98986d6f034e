-- Every sync-state key of tenant $tenant_id starting with $prefix (e.g. `appointments_hwm/`)
-- and its value.
SELECT state_key, value
FROM raw.sync_state
WHERE tenant_id = $tenant_id AND starts_with(state_key, $prefix)
