-- Merge staged meeting types into raw.meeting_types by id; the first read in a sync wins.
MERGE INTO raw.meeting_types AS stored
USING (
    SELECT *
    FROM staged_meeting_types
    QUALIFY row_number() OVER (PARTITION BY meeting_type_id ORDER BY rowid) = 1
) AS read
ON stored.meeting_type_id = read.meeting_type_id
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
    user_id = read.user_id,
    payload = read.payload,
    source_updated_at = read.updated_at,
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (meeting_type_id, user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
VALUES
    (read.meeting_type_id, read.user_id, read.payload, read.updated_at, $seen_at, $seen_at, NULL)
