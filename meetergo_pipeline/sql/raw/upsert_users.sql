-- Upsert a batch of GET /v4/user pages, staged as `pages(body BLOB)`; seeing a row again
-- undeletes it.
MERGE INTO raw.users AS stored
USING (
    SELECT unnest(json_extract(decode(body), '$.users[*]')) AS payload
    FROM pages
) AS read
ON stored.user_id = read.payload ->> 'id'
WHEN MATCHED THEN UPDATE SET
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
