-- Merge staged users into raw.users by id; the first read in a sync wins, and seeing a row
-- again undeletes it.
MERGE INTO raw.users AS stored
USING (
    SELECT *
    FROM staged_users
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY rowid) = 1
) AS read
ON stored.user_id = read.user_id
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
    payload = read.payload,
    source_updated_at = read.updated_at,
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
VALUES (read.user_id, read.payload, read.updated_at, $seen_at, $seen_at, NULL)
