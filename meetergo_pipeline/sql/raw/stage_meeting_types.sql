-- Stage GET /v4/meeting-type answers (bare arrays), passed as `$bodies`. Meeting types carry
-- no updatedAt on the wire; createdAt is the only source time.
INSERT INTO staged_meeting_types
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
)

SELECT
    payload ->> 'id',
    payload ->> 'userId',
    payload,
    CAST(coalesce(payload ->> 'updatedAt', payload ->> 'createdAt') AS TIMESTAMPTZ)
FROM listed
