-- Stage GET /v4/appointment/paginated pages, passed as `$bodies` (response bodies as
-- received): one row per listed appointment, its JSON beside the typed keys and its fields
-- (appointment_fields.sql), all from one parse of the payload.
INSERT INTO staged_appointments
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$.appointments[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
),

parsed AS (
    SELECT payload, appointment_fields(payload) AS f
    FROM listed
)

SELECT
    f.id,
    TRY_CAST(f.createdAt AS TIMESTAMPTZ),
    TRY_CAST(f.start AS TIMESTAMPTZ),
    payload,
    TRY_CAST(f.updatedAt AS TIMESTAMPTZ),
    f
FROM parsed
