-- Temp macros of the webhook ingest and of the raw-schema backfill (run first in their
-- transaction; see canonical_events.sql).

-- A source timestamp as an instant: ISO text with Z or an offset is that instant, naive ISO
-- text is read as UTC, 9-10 digits are epoch seconds and 12-13 digits epoch milliseconds.
-- NULL when the text is none of these.
CREATE OR REPLACE TEMP MACRO webhook_instant(text) AS CASE
    WHEN regexp_matches(text, '^\d{12,13}$') THEN to_timestamp(TRY_CAST(text AS BIGINT) / 1000)
    WHEN regexp_matches(text, '^\d{9,10}$') THEN to_timestamp(TRY_CAST(text AS BIGINT))
    WHEN regexp_matches(text, '([zZ]|[+-]\d\d(:?\d\d)?)$') THEN TRY_CAST(text AS TIMESTAMPTZ)
    ELSE TRY_CAST(text AS TIMESTAMP) AT TIME ZONE 'UTC'
END;

-- The fields the ingest reads from one JSON object, in one parse: the envelope's type and
-- time, and the entity's ids and times. Every value comes back as text (a number as its
-- digits, an object as its JSON); a key that appears twice counts with its first value.
CREATE OR REPLACE TEMP MACRO webhook_fields(doc) AS json_transform(doc, '{
    "webhookType": "VARCHAR", "event": "VARCHAR", "timestamp": "VARCHAR",
    "id": "VARCHAR", "appointmentId": "VARCHAR", "userId": "VARCHAR", "employeeId": "VARCHAR",
    "createdAt": "VARCHAR", "updatedAt": "VARCHAR", "rescheduledAt": "VARCHAR",
    "cancel": {"actionAt": "VARCHAR"}
}');
