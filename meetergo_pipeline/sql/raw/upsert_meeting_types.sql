-- Upsert a batch of GET /v4/meeting-type answers (bare arrays), staged as `pages(body BLOB)`.
-- Meeting types carry no updatedAt on the wire; createdAt is the only source time.
INSERT INTO raw.meeting_types
    (meeting_type_id, user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$[*]')) AS payload
    FROM pages
)

SELECT
    payload ->> 'id',
    payload ->> 'userId',
    payload,
    CAST(coalesce(payload ->> 'updatedAt', payload ->> 'createdAt') AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
FROM listed
ON CONFLICT (meeting_type_id) DO UPDATE SET
    user_id = excluded.user_id,
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
