-- One sync-state value (ISO timestamp text) of tenant $tenant_id by key, e.g.
-- `last_full_sweep_at`.
SELECT value FROM raw.sync_state WHERE tenant_id = $tenant_id AND state_key = $state_key
