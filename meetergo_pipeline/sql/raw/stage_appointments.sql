-- Stage GET /v4/appointment/paginated pages, passed as `$bodies` (response bodies as
-- received): one row per listed appointment, its JSON beside the typed keys. The attendees'
-- e-mail addresses are read in the same parse: the snapshot publishes them as pseudonyms
-- (sql/publish/core/appointment_attendees.sql) without parsing every payload again.
INSERT INTO staged_appointments
WITH listed AS (
    SELECT unnest(json_extract(decode(body), '$.appointments[*]')) AS payload
    FROM unnest($bodies::BLOB[]) AS pages (body)
),

keyed AS (
    SELECT
        payload,
        json_transform(
            payload,
            '{"id": "VARCHAR", "createdAt": "TIMESTAMPTZ", "start": "TIMESTAMPTZ",
              "updatedAt": "TIMESTAMPTZ", "attendees": [{"email": "VARCHAR"}]}'
        ) AS k
    FROM listed
)

SELECT k.id, k.createdAt, k.start, payload, k.updatedAt, list_transform(k.attendees, lambda a: a.email)
FROM keyed
