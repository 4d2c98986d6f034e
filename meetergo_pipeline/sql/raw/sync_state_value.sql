-- One sync-state value (ISO timestamp text) by key, e.g. `last_full_sweep_at`.
SELECT value FROM raw.sync_state WHERE state_key = $state_key
