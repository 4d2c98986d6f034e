-- Upsert a batch of GET /v4/user pages, staged as `pages(body BLOB)`; seeing a row again
-- undeletes it.
INSERT INTO raw.users
    (user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$.users[*]')) AS payload
    FROM pages
)

SELECT
    payload ->> 'id',
    payload,
    CAST(payload ->> 'updatedAt' AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
FROM listed
ON CONFLICT (user_id) DO UPDATE SET
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
