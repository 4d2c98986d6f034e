-- Every sync-state key starting with $prefix (e.g. `appointments_hwm/`) and its value.
SELECT state_key, value FROM raw.sync_state WHERE starts_with(state_key, $prefix)
