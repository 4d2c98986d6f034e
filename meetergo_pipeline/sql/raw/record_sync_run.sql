-- One row per sync run and tenant, written in the tenant's last transaction with the live
-- counts it left.
INSERT INTO raw.sync_runs
SELECT
    $run_id,
    $mode,
    $started_at,
    $finished_at,
    $requests_spent,
    $users_seen,
    $meeting_types_seen,
    $appointments_seen,
    $api_user_total,
    (SELECT count(*) FROM raw.users WHERE tenant_id = $tenant_id AND deleted_at IS NULL),
    (SELECT count(*) FROM raw.appointments WHERE tenant_id = $tenant_id AND deleted_at IS NULL),
    $tenant_id
