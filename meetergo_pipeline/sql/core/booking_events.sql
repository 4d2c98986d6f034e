-- core.booking_events: one row per distinct booking webhook event. Reads both body shapes:
-- the live flat body (webhookType + the appointment's fields at the top level, id = the
-- appointment id) and the legacy envelope {event, timestamp, data:{appointmentId, ...}}.
-- Event names are folded into one vocabulary: booking_created | booking_rescheduled |
-- booking_cancelled. Other event types (new_employee -> core.users, form_submission, review_*,
-- unknown ...) are not booking events and are left out.
CREATE OR REPLACE TABLE core.booking_events AS
WITH events_unpacked AS (
    SELECT
        e.event_key,
        e.appointment_id AS ingested_appointment_id,
        e.occurred_at AS ingested_occurred_at,
        e.received_at,
        e.delivery_count,
        e.body,
        (e.body->>'webhookType') IS NULL AND (e.body->>'event') IS NOT NULL AS is_legacy_envelope,
        regexp_replace(
            lower(trim(coalesce(e.event_type, e.body->>'webhookType', e.body->>'event'))),
            '[^a-z0-9]+', '_', 'g'
        ) AS event_type_folded
    FROM raw.webhook_events AS e
),

events_typed AS (
    SELECT
        *,
        CASE
            WHEN is_legacy_envelope AND json_type(body->'data') = 'OBJECT' THEN body->'data'
            ELSE body
        END AS appointment_fields,
        CASE
            WHEN event_type_folded IN ('booking_created', 'appointment_created', 'booking_new')
                THEN 'booking_created'
            WHEN event_type_folded IN ('booking_rescheduled', 'appointment_rescheduled')
                THEN 'booking_rescheduled'
            WHEN event_type_folded IN (
                'booking_cancelled', 'booking_canceled',
                'appointment_cancelled', 'appointment_canceled'
            )
                THEN 'booking_cancelled'
        END AS event_type
    FROM events_unpacked
),

booking_events_parsed AS (
    SELECT
        event_key,
        event_type,
        coalesce(
            ingested_appointment_id,
            appointment_fields->>'appointmentId',
            appointment_fields->>'id'
        ) AS appointment_id,
        -- the source time of the change, so events order against the API's updatedAt
        coalesce(
            ingested_occurred_at,
            CASE event_type
                WHEN 'booking_cancelled'
                    THEN TRY_CAST(appointment_fields->'cancel'->>'actionAt' AS TIMESTAMPTZ)
                WHEN 'booking_rescheduled'
                    THEN TRY_CAST(appointment_fields->>'rescheduledAt' AS TIMESTAMPTZ)
                WHEN 'booking_created'
                    THEN TRY_CAST(appointment_fields->>'createdAt' AS TIMESTAMPTZ)
            END,
            TRY_CAST(body->>'timestamp' AS TIMESTAMPTZ),
            TRY_CAST(appointment_fields->>'updatedAt' AS TIMESTAMPTZ),
            received_at
        ) AS occurred_at,
        received_at,
        delivery_count,
        CASE WHEN is_legacy_envelope THEN 'legacy' ELSE 'flat' END AS payload_format,
        coalesce(
            appointment_fields->>'meetingTypeId', appointment_fields->'meetingType'->>'id'
        ) AS meeting_type_id,
        coalesce(
            appointment_fields->'hostingInfo'->>'mainHost',
            appointment_fields->'hostIds'->>0,
            appointment_fields->'hosts'->0->>'id'
        ) AS host_user_id,
        TRY_CAST(appointment_fields->>'start' AS TIMESTAMPTZ) AS start_at,
        TRY_CAST(appointment_fields->>'end' AS TIMESTAMPTZ) AS end_at,
        TRY_CAST(coalesce(
            appointment_fields->>'previousStart',
            appointment_fields->>'originalStart',
            appointment_fields->>'oldStart'
        ) AS TIMESTAMPTZ) AS previous_start_at,
        TRY_CAST(appointment_fields->>'createdAt' AS TIMESTAMPTZ) AS appointment_created_at,
        TRY_CAST(appointment_fields->'cancel'->>'actionAt' AS TIMESTAMPTZ) AS cancel_action_at,
        TRY_CAST(appointment_fields->>'rescheduledAt' AS TIMESTAMPTZ) AS rescheduled_at_as_sent,
        TRY_CAST(appointment_fields->>'rescheduleCount' AS INTEGER) AS reschedule_count,
        CASE
            WHEN json_type(appointment_fields->'attendees') = 'ARRAY'
                THEN json_array_length(appointment_fields->'attendees')::INTEGER
            WHEN json_type(appointment_fields->'attendee') = 'OBJECT' THEN 1
        END AS attendee_count,
        appointment_fields->'meetingInfo'->>'channel' AS channel
    FROM events_typed
    WHERE event_type IS NOT NULL
)

SELECT
    event_key,
    event_type,
    appointment_id,
    occurred_at,
    received_at,
    delivery_count,
    payload_format,
    meeting_type_id,
    host_user_id,
    start_at,
    end_at,
    previous_start_at,
    appointment_created_at,
    CASE WHEN event_type = 'booking_cancelled'
        THEN coalesce(cancel_action_at, occurred_at) END AS cancelled_at,
    CASE WHEN event_type = 'booking_rescheduled'
        THEN coalesce(rescheduled_at_as_sent, occurred_at) END AS rescheduled_at,
    reschedule_count,
    attendee_count,
    channel
FROM booking_events_parsed
WHERE appointment_id IS NOT NULL
ORDER BY occurred_at, event_key;

COMMENT ON TABLE core.booking_events IS 'One row per distinct booking webhook event (duplicate deliveries already collapsed), live flat and legacy envelope bodies read alike. Only booking_created, booking_rescheduled and booking_cancelled; events without an appointment id are left out. Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.booking_events.event_key IS 'Identity of the event (raw.webhook_events.event_key): hash of type, appointment, event time and body.';
COMMENT ON COLUMN core.booking_events.event_type IS 'booking_created | booking_rescheduled | booking_cancelled (legacy and variant spellings folded in).';
COMMENT ON COLUMN core.booking_events.appointment_id IS 'Appointment the event is about (flat body: id; legacy body: data.appointmentId).';
COMMENT ON COLUMN core.booking_events.occurred_at IS 'When the change happened at meetergo (UTC instant): the ingested event time, else cancel.actionAt / rescheduledAt / createdAt by type, else the legacy timestamp, else updatedAt, else received_at. Used to order events against API reads.';
COMMENT ON COLUMN core.booking_events.received_at IS 'When our receiver first stored the event (UTC instant).';
COMMENT ON COLUMN core.booking_events.delivery_count IS 'How many times meetergo delivered this same event (at-least-once delivery).';
COMMENT ON COLUMN core.booking_events.payload_format IS 'flat = live webhookType body; legacy = {event, timestamp, data} envelope.';
COMMENT ON COLUMN core.booking_events.meeting_type_id IS 'Meeting type named in the event body, if any.';
COMMENT ON COLUMN core.booking_events.host_user_id IS 'Main host named in the body: hostingInfo.mainHost, else hostIds[0], else hosts[0].id.';
COMMENT ON COLUMN core.booking_events.start_at IS 'Meeting start carried by the event (UTC instant); for booking_rescheduled the new start.';
COMMENT ON COLUMN core.booking_events.end_at IS 'Meeting end carried by the event (UTC instant).';
COMMENT ON COLUMN core.booking_events.previous_start_at IS 'For booking_rescheduled: the original start (previousStart / originalStart / oldStart; field name undocumented), UTC instant.';
COMMENT ON COLUMN core.booking_events.appointment_created_at IS 'The appointment''s createdAt as carried in the body (UTC instant).';
COMMENT ON COLUMN core.booking_events.cancelled_at IS 'For booking_cancelled: cancel.actionAt, else occurred_at (UTC instant). NULL for other types.';
COMMENT ON COLUMN core.booking_events.rescheduled_at IS 'For booking_rescheduled: rescheduledAt, else occurred_at (UTC instant). NULL for other types.';
COMMENT ON COLUMN core.booking_events.reschedule_count IS 'rescheduleCount as carried in the body, if any.';
COMMENT ON COLUMN core.booking_events.attendee_count IS 'Number of attendees in the body (attendees[] length; 1 for a legacy single attendee object).';
COMMENT ON COLUMN core.booking_events.channel IS 'Meeting location channel in the body (meetingInfo.channel).';
