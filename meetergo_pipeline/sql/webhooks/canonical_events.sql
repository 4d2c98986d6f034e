-- The one reading of a meetergo webhook body. Input: the temp relation
-- webhook_bodies(row_id, body, received_at), one row per delivery (the ingest stages log
-- lines into it; the raw-schema backfill points it at stored rows). Output: the temp table
-- webhook_canonical, one row per input row with the typed columns of raw.webhook_events.
-- Needs macros.sql. webhooks/body.py mirrors the event type and appointment id for the
-- receiver; a test feeds both the same bodies.
--
-- Body shapes: flat (live: `webhookType`, the entity's fields at the top level, `id` = the
-- appointment's or user's id) and legacy (`{event, timestamp, data: {...}}`). A body with
-- neither type key is read as flat, with event_type 'unknown'.
--
-- event_type folds spellings into one vocabulary: the type as sent, lower-cased, each run of
-- other characters than a-z and 0-9 turned into one '_' ("Booking Cancelled",
-- "booking.cancelled" -> booking_cancelled), then the known synonyms mapped. A type outside
-- the vocabulary keeps that normalised spelling; event_type_as_sent keeps it exactly.
--
-- entity_path says where the entity's fields sit in the body: legacy bodies carry them in
-- `data`; a new_employee body carries its user in the first object among data.user,
-- data.employee, data, user, employee, else the body itself.
--
-- appointment_id, for types starting with booking_ only (after folding, so unknown booking_*
-- types get one too): flat `id`; legacy `appointmentId`, else `id`, of the entity. user_id, for
-- new_employee only: `userId`, else `id`, else `employeeId` of the user. Empty text counts
-- as missing; the receiver quarantines a booking event without an appointment id.
--
-- occurred_at, the source time of the change, is chosen by the folded type: booking_cancelled
-- cancel.actionAt, booking_rescheduled rescheduledAt, booking_created and new_employee
-- createdAt; then the legacy envelope's timestamp; then updatedAt; then received_at.
--
-- event_key identifies the event across at-least-once deliveries: md5 of the folded type,
-- appointment id, source time (without the received_at fallback, which differs between
-- deliveries) and the body's hash. The body hash makes the key a function of the body, so
-- only bodies identical up to whitespace collapse: meetergo repeats a delivery byte for byte.
-- Two spellings of a change therefore stay two events (their bodies differ); the folded type
-- in the key only keeps it built from the canonical columns.
CREATE OR REPLACE TEMP TABLE webhook_canonical AS
WITH envelopes AS (
    SELECT row_id, body, received_at, webhook_fields(body) AS head
    FROM webhook_bodies
),

spellings AS (
    SELECT
        *,
        CASE WHEN head.webhookType IS NULL AND head.event IS NOT NULL
            THEN 'legacy' ELSE 'flat' END AS payload_format,
        coalesce(head.webhookType, head.event) AS event_type_as_sent,
        trim(
            regexp_replace(lower(coalesce(head.webhookType, head.event)), '[^a-z0-9]+', '_', 'g'),
            '_'
        ) AS spelling
    FROM envelopes
),

folded AS (
    SELECT
        *,
        CASE
            WHEN spelling IN ('booking_created', 'booking_new', 'appointment_created')
                THEN 'booking_created'
            WHEN spelling IN ('booking_rescheduled', 'appointment_rescheduled')
                THEN 'booking_rescheduled'
            WHEN spelling IN (
                'booking_cancelled', 'booking_canceled',
                'appointment_cancelled', 'appointment_canceled'
            )
                THEN 'booking_cancelled'
            ELSE coalesce(nullif(spelling, ''), 'unknown')
        END AS event_type
    FROM spellings
),

located AS (
    SELECT
        *,
        CASE
            WHEN event_type = 'new_employee' THEN CASE
                WHEN json_type(body, '$.data.user') = 'OBJECT' THEN '$.data.user'
                WHEN json_type(body, '$.data.employee') = 'OBJECT' THEN '$.data.employee'
                WHEN json_type(body, '$.data') = 'OBJECT' THEN '$.data'
                WHEN json_type(body, '$.user') = 'OBJECT' THEN '$.user'
                WHEN json_type(body, '$.employee') = 'OBJECT' THEN '$.employee'
                ELSE '$'
            END
            WHEN payload_format = 'legacy' AND json_type(body, '$.data') = 'OBJECT' THEN '$.data'
            ELSE '$'
        END AS entity_path
    FROM folded
),

entities AS (
    SELECT
        *,
        CASE WHEN entity_path = '$' THEN head
            ELSE webhook_fields(json_extract(body, entity_path)) END AS entity
    FROM located
),

resolved AS (
    SELECT
        row_id,
        body,
        received_at,
        payload_format,
        event_type_as_sent,
        event_type,
        entity_path,
        CASE WHEN starts_with(event_type, 'booking_') THEN
            CASE WHEN payload_format = 'legacy'
                THEN coalesce(nullif(entity.appointmentId, ''), nullif(entity.id, ''))
                ELSE nullif(entity.id, '') END
        END AS appointment_id,
        CASE WHEN event_type = 'new_employee' THEN
            coalesce(nullif(entity.userId, ''), nullif(entity.id, ''), nullif(entity.employeeId, ''))
        END AS user_id,
        coalesce(
            webhook_instant(CASE event_type
                WHEN 'booking_cancelled' THEN entity.cancel.actionAt
                WHEN 'booking_rescheduled' THEN entity.rescheduledAt
                WHEN 'booking_created' THEN entity.createdAt
                WHEN 'new_employee' THEN entity.createdAt
            END),
            webhook_instant(CASE WHEN payload_format = 'legacy' THEN head.timestamp END),
            webhook_instant(entity.updatedAt)
        ) AS source_time
    FROM entities
)

SELECT
    row_id,
    received_at,
    payload_format,
    event_type_as_sent,
    event_type,
    appointment_id,
    user_id,
    entity_path,
    coalesce(source_time, received_at) AS occurred_at,
    md5(concat_ws('|', event_type, coalesce(appointment_id, ''),
                  coalesce(CAST(epoch_us(source_time) AS VARCHAR), ''),
                  md5(CAST(body AS VARCHAR)))) AS event_key,
    -- the types meetergo documents; any other is kept too, and counted by the ingest
    event_type IN (
        'booking_created', 'booking_rescheduled', 'booking_cancelled', 'new_employee',
        'form_submission', 'credential_error', 'review_submitted', 'review_published',
        'signature_completed'
    ) AS is_known_type
FROM resolved
