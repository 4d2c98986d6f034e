-- Merge staged meeting types into raw.meeting_types by tenant and id: update the rows already stored,
-- then insert the new ones (see merge_appointments.sql). The first read in a sync wins.
UPDATE raw.meeting_types AS stored
SET
    user_id = read.user_id,
    payload = read.payload,
    source_updated_at = read.updated_at,
    last_seen_at = $seen_at,
    deleted_at = NULL
FROM staged_meeting_types AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_meeting_types GROUP BY meeting_type_id)
    AND stored.tenant_id = $tenant_id
    AND stored.meeting_type_id = read.meeting_type_id
    AND stored.last_seen_at IS DISTINCT FROM $seen_at;

INSERT INTO raw.meeting_types
    (meeting_type_id, user_id, payload, source_updated_at, first_seen_at, last_seen_at,
     deleted_at, tenant_id)
SELECT
    read.meeting_type_id,
    read.user_id,
    read.payload,
    read.updated_at,
    $seen_at,
    $seen_at,
    NULL,
    $tenant_id
FROM staged_meeting_types AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_meeting_types GROUP BY meeting_type_id)
    AND NOT EXISTS (
        SELECT 1 FROM raw.meeting_types AS stored
        WHERE stored.tenant_id = $tenant_id AND stored.meeting_type_id = read.meeting_type_id
    );
