-- Upsert one batch of appointments (staged as `batch(id, payload)`). An appointment with
-- several hosts is read once per host, so the batch may hold it twice: keep the newest.
INSERT INTO raw.appointments
    (appointment_id, created_at, start_at, payload, source_updated_at,
     first_seen_at, last_seen_at, deleted_at)
SELECT
    id,
    CAST(payload ->> 'createdAt' AS TIMESTAMPTZ),
    CAST(payload ->> 'start' AS TIMESTAMPTZ),
    payload,
    CAST(payload ->> 'updatedAt' AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
FROM batch
QUALIFY row_number() OVER (
    PARTITION BY id ORDER BY CAST(payload ->> 'updatedAt' AS TIMESTAMPTZ) DESC NULLS LAST
) = 1
ON CONFLICT (appointment_id) DO UPDATE SET
    created_at = excluded.created_at,
    start_at = excluded.start_at,
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
