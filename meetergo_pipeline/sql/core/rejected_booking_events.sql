-- core.rejected_booking_events: the booking webhook events that cannot form a row of
-- core.appointments, each with its reason in words; core.appointments leaves their
-- appointments out, so one bad delivery never holds up the rest.
--   * Only an appointment the API has not listed can be rejected: a listed one takes its
--     start and creation time from the API read, whatever its events carry.
--   * An appointment known only from events forms a row when some event carries a parseable
--     start (its start_at), and its creation time, when an event gives one, lies in the years
--     2000 to 2099: the billing marts cut calendar months from it, and an infinite or
--     far-off time cannot be cut. The creation time is derived as core.appointments derives
--     it: the earliest createdAt in a body, else the earliest booking_created event time.
--   * Otherwise every event of that appointment is rejected. The reason names what is wrong
--     with the event's start field by its JSON type, never by its value: bodies carry
--     personal data, and nothing of a body reaches this table.
-- The table is rebuilt from the events each time: an appointment leaves it once the API lists
-- it or an event with a usable start arrives.
CREATE OR REPLACE TABLE core.rejected_booking_events AS
WITH unlisted_events AS (
    SELECT e.*
    FROM core.booking_events AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM core.api_appointments AS a
        WHERE a.tenant_id = e.tenant_id AND a.appointment_id = e.appointment_id
    )
),

unlisted_appointments AS (
    SELECT
        tenant_id,
        appointment_id,
        count(start_at) > 0 AS has_start,
        coalesce(
            min(appointment_created_at),
            min(occurred_at) FILTER (WHERE event_type = 'booking_created')
        ) AS created_at
    FROM unlisted_events
    GROUP BY tenant_id, appointment_id
),

rejected_appointments AS (
    SELECT
        tenant_id,
        appointment_id,
        NOT has_start AS lacks_start
    FROM unlisted_appointments
    WHERE NOT has_start
       OR created_at < TIMESTAMPTZ '2000-01-01 00:00:00+00'
       OR created_at >= TIMESTAMPTZ '2100-01-01 00:00:00+00'
),

rejected_events AS (
    SELECT e.*, r.lacks_start
    FROM unlisted_events AS e
    JOIN rejected_appointments AS r
        ON r.tenant_id = e.tenant_id AND r.appointment_id = e.appointment_id
),

-- The JSON type of each rejected event's start field (NULL when the field is absent).
start_field_types AS (
    SELECT
        w.tenant_id,
        w.event_key,
        json_type(w.body, w.entity_path || '.start') AS start_type
    FROM raw.webhook_events AS w
    WHERE EXISTS (
        SELECT 1 FROM rejected_events AS r
        WHERE r.tenant_id = w.tenant_id AND r.event_key = w.event_key
    )
)

SELECT
    e.tenant_id,
    e.event_key,
    e.appointment_id,
    e.event_type,
    e.payload_format,
    e.occurred_at,
    e.received_at,
    CASE
        WHEN NOT e.lacks_start
            THEN 'creation time outside the years 2000 to 2099 for an appointment the API has '
                || 'not listed'
        WHEN coalesce(s.start_type, 'NULL') = 'NULL'
            THEN 'no start time for an appointment the API has not listed'
        WHEN s.start_type = 'VARCHAR'
            THEN 'start time not parseable: text in no known date and time format'
        WHEN s.start_type IN ('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')
            THEN 'start time not parseable: a number, not date and time text'
        ELSE 'start time not parseable: a JSON ' || lower(s.start_type)
            || ', not date and time text'
    END AS reason
FROM rejected_events AS e
LEFT JOIN start_field_types AS s ON s.tenant_id = e.tenant_id AND s.event_key = e.event_key
ORDER BY e.tenant_id, e.appointment_id, e.occurred_at, e.event_key;

COMMENT ON TABLE core.rejected_booking_events IS 'Booking webhook events that cannot form a row of core.appointments, held here instead of stopping the pipeline: events of an appointment the API has not listed when none of its events carries a parseable start, or when its creation time lies outside the years 2000 to 2099. Their appointments are left out of core.appointments; an appointment the API has listed is never rejected. Rebuilt on every run: an appointment leaves this table once the API lists it or an event with a usable start arrives. Holds no content of the event bodies. Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.rejected_booking_events.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.rejected_booking_events.event_key IS 'Identity of the rejected event (core.booking_events.event_key).';
COMMENT ON COLUMN core.rejected_booking_events.appointment_id IS 'Appointment the event is about; not listed by the API so far and not in core.appointments.';
COMMENT ON COLUMN core.rejected_booking_events.event_type IS 'booking_created | booking_rescheduled | booking_cancelled, as folded by the ingest.';
COMMENT ON COLUMN core.rejected_booking_events.payload_format IS 'flat = live webhookType body; legacy = {event, timestamp, data} envelope.';
COMMENT ON COLUMN core.rejected_booking_events.occurred_at IS 'When the change happened at meetergo, as the ingest read it (UTC instant; see core.booking_events.occurred_at).';
COMMENT ON COLUMN core.rejected_booking_events.received_at IS 'When our receiver first stored the event (UTC instant).';
COMMENT ON COLUMN core.rejected_booking_events.reason IS 'Why the appointment cannot form a row, in words: no start time, a start time not parseable (described by its kind, never its value), or a creation time outside the years 2000 to 2099; all for an appointment the API has not listed.';
