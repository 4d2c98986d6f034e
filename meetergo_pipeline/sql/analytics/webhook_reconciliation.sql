-- analytics.webhook_reconciliation: per day, where webhooks and API reads disagree.
--   events_without_api_appointment: booking events about an appointment no API read has shown
--   creations/cancellations/reschedules_without_event: changes visible in the API (or, for
--       creations, in core.appointments) with no matching webhook event: missed webhooks. Only
--       changes at or after the first webhook ever received count, so history from before the
--       receiver existed is not flagged.
--   state_disagreements: events that an API read newer than the event contradicts.
-- Each tenant's items are compared within the tenant and counted on the day (reporting time zone) of its own source timestamp.
CREATE OR REPLACE TABLE analytics.webhook_reconciliation AS
WITH receiver_start AS (
    SELECT tenant_id, min(received_at) AS receiver_started_at
    FROM raw.webhook_events
    GROUP BY tenant_id
),

events_without_api_appointment AS (
    SELECT 'event_without_api_appointment' AS finding, e.occurred_at AS finding_at, e.tenant_id
    FROM core.booking_events AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM raw.appointments AS r
        WHERE r.tenant_id = e.tenant_id AND r.appointment_id = e.appointment_id
    )
),

creations_without_event AS (
    SELECT 'creation_without_event' AS finding, a.created_at AS finding_at, a.tenant_id
    FROM core.appointments AS a
    JOIN receiver_start AS rs ON rs.tenant_id = a.tenant_id
    WHERE a.created_at >= rs.receiver_started_at
      AND NOT EXISTS (
          SELECT 1 FROM core.booking_events AS e
          WHERE e.tenant_id = a.tenant_id
            AND e.appointment_id = a.appointment_id
            AND e.event_type = 'booking_created'
      )
),

cancellations_without_event AS (
    SELECT 'cancellation_without_event' AS finding, api.cancelled_at AS finding_at, api.tenant_id
    FROM core.api_appointments AS api
    JOIN receiver_start AS rs ON rs.tenant_id = api.tenant_id
    WHERE api.status = 'cancelled'
      AND api.cancelled_at >= rs.receiver_started_at
      AND NOT EXISTS (
          SELECT 1 FROM core.booking_events AS e
          WHERE e.tenant_id = api.tenant_id
            AND e.appointment_id = api.appointment_id
            AND e.event_type = 'booking_cancelled'
      )
),

reschedules_without_event AS (
    -- the API shows the latest reschedule; an event for it or a later one must exist
    SELECT 'reschedule_without_event' AS finding, api.rescheduled_at AS finding_at, api.tenant_id
    FROM core.api_appointments AS api
    JOIN receiver_start AS rs ON rs.tenant_id = api.tenant_id
    WHERE api.rescheduled_at >= rs.receiver_started_at
      AND NOT EXISTS (
          SELECT 1 FROM core.booking_events AS e
          WHERE e.tenant_id = api.tenant_id
            AND e.appointment_id = api.appointment_id
            AND e.event_type = 'booking_rescheduled'
            AND e.rescheduled_at >= api.rescheduled_at
      )
),

state_disagreements AS (
    SELECT 'state_disagreement' AS finding, e.occurred_at AS finding_at, e.tenant_id
    FROM core.booking_events AS e
    JOIN core.api_appointments AS api
        ON api.tenant_id = e.tenant_id AND api.appointment_id = e.appointment_id
    WHERE api.state_as_of > e.occurred_at
      AND (
          (e.event_type = 'booking_cancelled' AND api.status = 'confirmed')
          OR (
              e.event_type = 'booking_rescheduled'
              AND (api.rescheduled_at IS NULL OR api.rescheduled_at < e.rescheduled_at)
          )
      )
),

booking_events_received AS (
    SELECT 'booking_event' AS finding, e.occurred_at AS finding_at, e.tenant_id
    FROM core.booking_events AS e
),

findings AS (
    SELECT * FROM events_without_api_appointment
    UNION ALL SELECT * FROM creations_without_event
    UNION ALL SELECT * FROM cancellations_without_event
    UNION ALL SELECT * FROM reschedules_without_event
    UNION ALL SELECT * FROM state_disagreements
    UNION ALL SELECT * FROM booking_events_received
),

findings_per_day AS (
    SELECT
        CAST(timezone(s.reporting_timezone, f.finding_at) AS DATE) AS day,
        f.tenant_id,
        count(*) FILTER (WHERE f.finding = 'booking_event') AS booking_events,
        count(*) FILTER (WHERE f.finding = 'event_without_api_appointment')
            AS events_without_api_appointment,
        count(*) FILTER (WHERE f.finding = 'creation_without_event') AS creations_without_event,
        count(*) FILTER (WHERE f.finding = 'cancellation_without_event')
            AS cancellations_without_event,
        count(*) FILTER (WHERE f.finding = 'reschedule_without_event')
            AS reschedules_without_event,
        count(*) FILTER (WHERE f.finding = 'state_disagreement') AS state_disagreements
    FROM findings AS f
    CROSS JOIN analytics.report_settings AS s
    WHERE f.finding_at IS NOT NULL
    GROUP BY ALL
)

SELECT
    day,
    tenant_id,
    booking_events,
    events_without_api_appointment,
    creations_without_event,
    cancellations_without_event,
    reschedules_without_event,
    creations_without_event + cancellations_without_event + reschedules_without_event
        AS api_changes_without_event,
    state_disagreements,
    events_without_api_appointment + creations_without_event + cancellations_without_event
        + reschedules_without_event + state_disagreements AS total_mismatches
FROM findings_per_day
ORDER BY day, tenant_id;

COMMENT ON TABLE analytics.webhook_reconciliation IS 'Per day (reporting time zone {{reporting_timezone}}) and tenant: how webhook events and API reads disagree. Missed-webhook counts only consider changes at or after the first webhook ever received. A booking that was just made shows up as an event without API appointment until the next API sync; persistent counts point at missed webhooks or a stale sync.';
COMMENT ON COLUMN analytics.webhook_reconciliation.day IS 'Calendar day in the reporting time zone ({{reporting_timezone}}) of each item''s source timestamp (event time, createdAt, cancel.actionAt, rescheduledAt).';
COMMENT ON COLUMN analytics.webhook_reconciliation.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.webhook_reconciliation.booking_events IS 'Distinct booking webhook events that occurred this day (context for the mismatch counts).';
COMMENT ON COLUMN analytics.webhook_reconciliation.events_without_api_appointment IS 'Booking events whose appointment no API read has shown (not in raw.appointments).';
COMMENT ON COLUMN analytics.webhook_reconciliation.creations_without_event IS 'Appointments created this day (at or after the receiver started) with no booking_created event: a missed or not yet arrived created webhook.';
COMMENT ON COLUMN analytics.webhook_reconciliation.cancellations_without_event IS 'Cancellations the API shows (by cancel time) with no booking_cancelled event: missed webhooks.';
COMMENT ON COLUMN analytics.webhook_reconciliation.reschedules_without_event IS 'Latest reschedules the API shows (by rescheduledAt) with no booking_rescheduled event for them or later: missed webhooks.';
COMMENT ON COLUMN analytics.webhook_reconciliation.api_changes_without_event IS 'creations_without_event + cancellations_without_event + reschedules_without_event.';
COMMENT ON COLUMN analytics.webhook_reconciliation.state_disagreements IS 'Events contradicted by an API read newer than the event: booking_cancelled while the API says confirmed, or booking_rescheduled the API does not know of.';
COMMENT ON COLUMN analytics.webhook_reconciliation.total_mismatches IS 'events_without_api_appointment + api_changes_without_event + state_disagreements.';
