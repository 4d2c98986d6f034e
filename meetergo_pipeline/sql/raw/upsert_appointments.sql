-- Upsert a batch of GET /v4/appointment/paginated pages, staged as `pages(body BLOB)` (response
-- bodies as received). No id occurs twice in a batch (RawWriter sees to it): an appointment
-- with several hosts, listed once per host, lands in two batches and the later read wins.
INSERT INTO raw.appointments
    (appointment_id, created_at, start_at, payload, source_updated_at,
     first_seen_at, last_seen_at, deleted_at)
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$.appointments[*]')) AS payload
    FROM pages
),

keyed AS (
    SELECT
        payload,
        json_transform(
            payload,
            '{"id": "VARCHAR", "createdAt": "TIMESTAMPTZ", "start": "TIMESTAMPTZ",
              "updatedAt": "TIMESTAMPTZ"}'
        ) AS k
    FROM listed
)

SELECT k.id, k.createdAt, k.start, payload, k.updatedAt, $seen_at, $seen_at, NULL
FROM keyed
ON CONFLICT (appointment_id) DO UPDATE SET
    created_at = excluded.created_at,
    start_at = excluded.start_at,
    payload = excluded.payload,
    source_updated_at = excluded.source_updated_at,
    last_seen_at = excluded.last_seen_at,
    deleted_at = NULL
