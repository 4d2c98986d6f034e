-- Stage GET /v4/user pages, passed as `$bodies` (response bodies as received).
INSERT INTO staged_users
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$.users[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
)

SELECT payload ->> 'id', payload, CAST(payload ->> 'updatedAt' AS TIMESTAMPTZ)
FROM listed
