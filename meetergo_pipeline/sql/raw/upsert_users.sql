-- Upsert one batch of users (staged as `batch(id, payload)`); seeing a row again undeletes it.
INSERT INTO raw.users
    (user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
SELECT
    id,
    payload,
    CAST(payload ->> 'updatedAt' AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
FROM batch
QUALIFY row_number() OVER (PARTITION BY id) = 1
ON CONFLICT (user_id) DO UPDATE SET
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
