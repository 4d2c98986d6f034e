-- Upsert a batch of GET /v4/appointment/paginated pages, passed as `$bodies` (response
-- bodies as received). No id occurs twice in a batch (RawWriter sees to it). A row this sync
-- already stored ($seen_at) is left as it is: an appointment with several hosts is listed
-- once per host, moments apart, and re-writing its payload was a third of the sync's cost.
MERGE INTO raw.appointments AS stored
USING (
    WITH listed AS (
        SELECT unnest(json_extract(decode(body), '$.appointments[*]')) AS payload
        FROM unnest($bodies::BLOB[]) AS pages (body)
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
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
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
