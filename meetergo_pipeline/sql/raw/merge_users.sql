-- Merge staged users into raw.users by tenant ($tenant_id) and id: update the rows already stored, then insert the
-- new ones (see merge_appointments.sql). The first read in a sync wins, and seeing a row
-- again undeletes it.
UPDATE raw.users AS stored
SET
    payload = read.payload,
    source_updated_at = read.updated_at,
    last_seen_at = $seen_at,
    deleted_at = NULL
FROM staged_users AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_users GROUP BY user_id)
    AND stored.tenant_id = $tenant_id
    AND stored.user_id = read.user_id
    AND stored.last_seen_at IS DISTINCT FROM $seen_at;

INSERT INTO raw.users
    (user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at, tenant_id)
SELECT read.user_id, read.payload, read.updated_at, $seen_at, $seen_at, NULL, $tenant_id
FROM staged_users AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_users GROUP BY user_id)
    AND NOT EXISTS (SELECT 1 FROM raw.users AS stored WHERE stored.tenant_id = $tenant_id AND stored.user_id = read.user_id);
