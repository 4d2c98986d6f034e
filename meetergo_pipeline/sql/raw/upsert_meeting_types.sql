-- Upsert one batch of meeting types (staged as `batch(id, payload)`).
-- Meeting types carry no updatedAt on the wire; createdAt is the only source time.
INSERT INTO raw.meeting_types
    (meeting_type_id, user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
SELECT
    id,
    payload ->> 'userId',
    payload,
    CAST(coalesce(payload ->> 'updatedAt', payload ->> 'createdAt') AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
FROM batch
QUALIFY row_number() OVER (PARTITION BY id) = 1
ON CONFLICT (meeting_type_id) DO UPDATE SET
    user_id = excluded.user_id,
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
