-- Upsert a batch of GET /v4/meeting-type answers (bare arrays), passed as `$bodies`.
-- Meeting types carry no updatedAt on the wire; createdAt is the only source time.
MERGE INTO raw.meeting_types AS stored
USING (
    SELECT unnest(json_extract(decode(body), '$[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
) AS read
ON stored.meeting_type_id = read.payload ->> 'id'
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
    user_id = read.payload ->> 'userId',
    payload = read.payload,
    source_updated_at = CAST(
        coalesce(read.payload ->> 'updatedAt', read.payload ->> 'createdAt') AS TIMESTAMPTZ
    ),
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (meeting_type_id, user_id, payload, source_updated_at, first_seen_at, last_seen_at, deleted_at)
VALUES (
    read.payload ->> 'id',
    read.payload ->> 'userId',
    read.payload,
    CAST(coalesce(read.payload ->> 'updatedAt', read.payload ->> 'createdAt') AS TIMESTAMPTZ),
    $seen_at,
    $seen_at,
    NULL
)
