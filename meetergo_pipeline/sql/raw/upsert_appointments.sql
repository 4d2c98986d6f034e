-- Upsert a batch of GET /v4/appointment/paginated pages, staged as `pages(body BLOB)` (response
-- bodies as received). No id occurs twice in a batch (RawWriter sees to it): an appointment
-- with several hosts, listed once per host, lands in two batches and the later read wins.
MERGE INTO raw.appointments AS stored
USING (
    WITH listed AS (
        SELECT unnest(json_extract(decode(body), '$.appointments[*]')) AS payload
        FROM pages
    )

    SELECT
        payload,
        json_transform(
            payload,
            '{"id": "VARCHAR", "createdAt": "TIMESTAMPTZ", "start": "TIMESTAMPTZ",
              "updatedAt": "TIMESTAMPTZ"}'
        ) AS k
    FROM listed
) AS read
ON stored.appointment_id = read.k.id
WHEN MATCHED THEN UPDATE SET
    created_at = read.k.createdAt,
    start_at = read.k.start,
    payload = read.payload,
    source_updated_at = read.k.updatedAt,
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (appointment_id, created_at, start_at, payload, source_updated_at,
     first_seen_at, last_seen_at, deleted_at)
VALUES
    (read.k.id, read.k.createdAt, read.k.start, read.payload, read.k.updatedAt,
     $seen_at, $seen_at, NULL)
