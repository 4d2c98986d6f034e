-- One row per sync run, written in the run's last transaction with the live counts it left.
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
    (SELECT count(*) FROM raw.users WHERE deleted_at IS NULL),
    (SELECT count(*) FROM raw.appointments WHERE deleted_at IS NULL)
