-- Upsert a batch of GET /v4/user pages, passed as `$bodies`; seeing a row again
-- undeletes it.
MERGE INTO raw.users AS stored
USING (
    SELECT unnest(json_extract(decode(body), '$.users[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
) AS read
ON stored.user_id = read.payload ->> 'id'
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
    payload = read.payload,
    source_updated_at = CAST(read.payload ->> 'updatedAt' AS TIMESTAMPTZ),
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
VALUES (
    read.payload ->> 'id',
    read.payload,
    CAST(read.payload ->> 'updatedAt' AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
)
