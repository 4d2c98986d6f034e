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
    f.createdAt,
    f.start,
    payload,
    f.updatedAt,
    f
FROM parsed
