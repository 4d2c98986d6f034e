-- After a complete sweep of tenant $tenant_id: its rows the API no longer lists get deleted_at (never removed).
-- `{{table}}` is one of raw.users, raw.meeting_types, raw.appointments.
UPDATE {{table}}
SET deleted_at = $sweep_started_at
WHERE tenant_id = $tenant_id
  AND deleted_at IS NULL
  AND last_seen_at < $sweep_started_at
