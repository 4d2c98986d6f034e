-- core.booking_events: one row per distinct booking webhook event. The ingest has already
-- read the body's shape (sql/webhooks/canonical_events.sql): folded event_type,
-- appointment_id, occurred_at and where the appointment's fields sit (entity_path) are typed
-- columns of raw.webhook_events. This model keeps the three booking types and reads the
-- descriptive fields. Other event types (new_employee -> core.users, form_submission,
-- review_*, unknown ...) are not booking events and are left out.
CREATE OR REPLACE TABLE core.booking_events AS
WITH booking_events_read AS (
    SELECT
        e.tenant_id,
        e.event_key,
        e.event_type,
        e.appointment_id,
        e.occurred_at,
        e.received_at,
        e.delivery_count,
        e.payload_format,
        json_extract(e.body, e.entity_path) AS appointment_fields
    FROM raw.webhook_events AS e
    WHERE e.event_type IN ('booking_created', 'booking_rescheduled', 'booking_cancelled')
      AND e.appointment_id IS NOT NULL
),

booking_events_parsed AS (
    SELECT
        tenant_id,
        event_key,
        event_type,
        appointment_id,
        occurred_at,
        received_at,
        delivery_count,
        payload_format,
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
        TRY_CAST(appointment_fields->>'rescheduleCount' AS INTEGER) AS reschedule_count,
        CASE
            WHEN json_type(appointment_fields->'attendees') = 'ARRAY'
                THEN json_array_length(appointment_fields->'attendees')::INTEGER
            WHEN json_type(appointment_fields->'attendee') = 'OBJECT' THEN 1
        END AS attendee_count,
        appointment_fields->'meetingInfo'->>'channel' AS channel
    FROM booking_events_read
)

SELECT
    tenant_id,
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
    CASE WHEN event_type = 'booking_cancelled' THEN occurred_at END AS cancelled_at,
    CASE WHEN event_type = 'booking_rescheduled' THEN occurred_at END AS rescheduled_at,
    reschedule_count,
    attendee_count,
    channel
FROM booking_events_parsed
ORDER BY tenant_id, occurred_at, event_key;

COMMENT ON TABLE core.booking_events IS 'One row per distinct booking webhook event (duplicate deliveries already collapsed), live flat and legacy envelope bodies read alike by the ingest. Only booking_created, booking_rescheduled and booking_cancelled; events without an appointment id are left out. Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.booking_events.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.booking_events.event_key IS 'Identity of the event (raw.webhook_events.event_key): hash of folded type, appointment, source event time and body.';
COMMENT ON COLUMN core.booking_events.event_type IS 'booking_created | booking_rescheduled | booking_cancelled, folded by the ingest from the type as sent (booking_canceled, appointment_cancelled, "Booking Cancelled", legacy booking.cancelled, ... fold in).';
COMMENT ON COLUMN core.booking_events.appointment_id IS 'Appointment the event is about (flat body: id; legacy body: data.appointmentId, else data.id).';
COMMENT ON COLUMN core.booking_events.occurred_at IS 'When the change happened at meetergo (UTC instant), chosen by the ingest: cancel.actionAt / rescheduledAt / createdAt by type, else the legacy timestamp, else updatedAt, else received_at. Used to order events against API reads.';
COMMENT ON COLUMN core.booking_events.received_at IS 'When our receiver first stored the event (UTC instant).';
COMMENT ON COLUMN core.booking_events.delivery_count IS 'How many times meetergo delivered this same event (at-least-once delivery).';
COMMENT ON COLUMN core.booking_events.payload_format IS 'flat = live webhookType body; legacy = {event, timestamp, data} envelope (as the ingest read it).';
COMMENT ON COLUMN core.booking_events.meeting_type_id IS 'Meeting type named in the event body, if any.';
COMMENT ON COLUMN core.booking_events.host_user_id IS 'Main host named in the body: hostingInfo.mainHost, else hostIds[0], else hosts[0].id.';
COMMENT ON COLUMN core.booking_events.start_at IS 'Meeting start carried by the event (UTC instant); for booking_rescheduled the new start.';
COMMENT ON COLUMN core.booking_events.end_at IS 'Meeting end carried by the event (UTC instant).';
COMMENT ON COLUMN core.booking_events.previous_start_at IS 'For booking_rescheduled: the original start (previousStart / originalStart / oldStart; field name undocumented), UTC instant.';
COMMENT ON COLUMN core.booking_events.appointment_created_at IS 'The appointment''s createdAt as carried in the body (UTC instant).';
COMMENT ON COLUMN core.booking_events.cancelled_at IS 'For booking_cancelled: occurred_at, i.e. cancel.actionAt when the body has it (UTC instant). NULL for other types.';
COMMENT ON COLUMN core.booking_events.rescheduled_at IS 'For booking_rescheduled: occurred_at, i.e. rescheduledAt when the body has it (UTC instant). NULL for other types.';
COMMENT ON COLUMN core.booking_events.reschedule_count IS 'rescheduleCount as carried in the body, if any.';
COMMENT ON COLUMN core.booking_events.attendee_count IS 'Number of attendees in the body (attendees[] length; 1 for a legacy single attendee object).';
COMMENT ON COLUMN core.booking_events.channel IS 'Meeting location channel in the body (meetingInfo.channel).';
