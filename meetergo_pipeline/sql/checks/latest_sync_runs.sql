-- The API's user total and the live row counts of tenant $tenant_id's two most recent sync
-- runs, newest first.
SELECT api_user_total, users_live, appointments_live
FROM raw.sync_runs
WHERE tenant_id = $tenant_id
ORDER BY finished_at DESC
LIMIT 2
