-- core.appointments: ONE row per appointment with its latest known state across API reads
-- and webhook events, ordered by source timestamps.
--   * Events strictly newer than the API read's state_as_of (updatedAt) are applied on top of
--     it; older events are already reflected (or contradicted) by the read, and the read wins.
--   * Cancellation is sticky: a newer booking_cancelled event cancels, and no created or
--     rescheduled event un-cancels; only a newer API read saying confirmed does.
--   * The latest newer event carrying a start moves start_at/end_at (an event without an end
--     keeps the API's duration); each distinct newer reschedule adds to reschedule_count.
--   * Appointments known only from events are included (source = webhook), whatever order
--     the events arrived in (cancel before create still yields cancelled).
--   * Except those whose events core.rejected_booking_events holds (no parseable start, say):
--     that model decides which cannot form a valid row, and they are left out here.
--   * cancelled_by maps who cancelled (cancel.actionSource of the API read, or of the
--     cancellation event that cancelled it) onto attendee / host / api; other values: NULL.
--   * original_start_at is the first start seen: the start of the earliest source among the
--     first API read, a booking_created event and a booking_rescheduled event's previous start.
CREATE OR REPLACE TABLE core.appointments AS
WITH latest_api_state AS (
    SELECT * FROM core.api_appointments
),

-- cancel.actionSource of each cancellation event, read from its body (booking_events keeps
-- only typed fields); only events core.booking_events holds count
event_cancel_sources AS (
    SELECT
        e.tenant_id,
        e.event_key,
        nullif(trim(json_extract_string(w.body, w.entity_path || '.cancel.actionSource')), '')
            AS cancel_source
    FROM core.booking_events AS e
    JOIN raw.webhook_events AS w ON w.tenant_id = e.tenant_id AND w.event_key = e.event_key
    WHERE e.event_type = 'booking_cancelled'
),

events_classified AS (
    SELECT
        e.*,
        c.cancel_source AS event_cancel_source,
        a.appointment_id IS NULL
            OR a.state_as_of IS NULL
            OR e.occurred_at > a.state_as_of AS is_after_api_state,
        CASE e.event_type
            WHEN 'booking_created' THEN e.start_at
            WHEN 'booking_rescheduled' THEN e.previous_start_at
        END AS start_seen
    FROM core.booking_events AS e
    LEFT JOIN latest_api_state AS a
        ON a.tenant_id = e.tenant_id AND a.appointment_id = e.appointment_id
    LEFT JOIN event_cancel_sources AS c ON c.tenant_id = e.tenant_id AND c.event_key = e.event_key
),

event_state AS (
    SELECT
        tenant_id,
        appointment_id,
        count(*) FILTER (WHERE is_after_api_state) AS newer_event_count,
        coalesce(bool_or(event_type = 'booking_cancelled') FILTER (WHERE is_after_api_state), false)
            AS has_newer_cancellation,
        min(cancelled_at) FILTER (WHERE is_after_api_state AND event_type = 'booking_cancelled')
            AS newer_cancelled_at,
        arg_min(event_cancel_source, cancelled_at)
            FILTER (WHERE is_after_api_state AND event_type = 'booking_cancelled')
            AS newer_cancel_source,
        arg_min(start_seen, occurred_at) FILTER (WHERE start_seen IS NOT NULL)
            AS first_event_start,
        min(occurred_at) FILTER (WHERE start_seen IS NOT NULL) AS first_event_start_seen_at,
        count(DISTINCT rescheduled_at)
            FILTER (WHERE is_after_api_state AND event_type = 'booking_rescheduled')
            AS newer_reschedules,
        max(rescheduled_at) FILTER (WHERE is_after_api_state AND event_type = 'booking_rescheduled')
            AS newer_rescheduled_at,
        max(reschedule_count) FILTER (WHERE is_after_api_state) AS newer_reported_reschedule_count,
        arg_max({'start_at': start_at, 'end_at': end_at}, occurred_at)
            FILTER (WHERE is_after_api_state AND start_at IS NOT NULL) AS newer_schedule,
        max(occurred_at) FILTER (WHERE is_after_api_state) AS newer_event_at,
        max(occurred_at) AS last_event_at,
        -- descriptive fields for appointments the API has not shown yet: latest value sent
        arg_max(meeting_type_id, occurred_at) FILTER (WHERE meeting_type_id IS NOT NULL)
            AS meeting_type_id,
        arg_max(host_user_id, occurred_at) FILTER (WHERE host_user_id IS NOT NULL)
            AS host_user_id,
        arg_max(attendee_count, occurred_at) FILTER (WHERE attendee_count IS NOT NULL)
            AS attendee_count,
        arg_max(channel, occurred_at) FILTER (WHERE channel IS NOT NULL) AS channel,
        coalesce(
            min(appointment_created_at),
            min(occurred_at) FILTER (WHERE event_type = 'booking_created')
        ) AS created_at
    FROM events_classified
    GROUP BY tenant_id, appointment_id
),

appointments_merged AS (
    SELECT
        coalesce(a.tenant_id, e.tenant_id) AS tenant_id,
        coalesce(a.appointment_id, e.appointment_id) AS appointment_id,
        coalesce(a.meeting_type_id, e.meeting_type_id) AS meeting_type_id,
        coalesce(a.host_user_id, e.host_user_id) AS host_user_id,
        coalesce(e.newer_schedule.start_at, a.start_at) AS start_at,
        CASE
            WHEN e.newer_schedule IS NULL THEN a.end_at
            WHEN e.newer_schedule.end_at IS NOT NULL THEN e.newer_schedule.end_at
            ELSE e.newer_schedule.start_at + (a.end_at - a.start_at)
        END AS end_at,
        coalesce(a.created_at, e.created_at) AS created_at,
        greatest(a.updated_at, e.newer_event_at) AS updated_at,
        coalesce(a.status = 'cancelled', false) OR coalesce(e.has_newer_cancellation, false)
            AS is_cancelled,
        CASE
            WHEN a.status = 'cancelled' THEN a.cancelled_at
            WHEN e.has_newer_cancellation THEN e.newer_cancelled_at
        END AS cancelled_at,
        CASE
            WHEN a.status = 'cancelled' THEN a.cancel_source
            WHEN e.has_newer_cancellation THEN e.newer_cancel_source
        END AS cancel_source,
        CASE
            WHEN e.first_event_start_seen_at < a.first_read_at OR a.first_read_at IS NULL
                THEN coalesce(e.first_event_start, a.first_read_start_at)
            ELSE coalesce(a.first_read_start_at, e.first_event_start)
        END AS first_start_seen,
        coalesce(e.newer_rescheduled_at, a.rescheduled_at) AS rescheduled_at,
        greatest(
            coalesce(a.reschedule_count, 0) + coalesce(e.newer_reschedules, 0),
            e.newer_reported_reschedule_count
        ) AS reschedule_count,
        coalesce(a.attendee_count, e.attendee_count) AS attendee_count,
        coalesce(a.channel, e.channel) AS channel,
        a.deleted_at,
        CASE
            WHEN a.appointment_id IS NULL THEN 'webhook'
            WHEN coalesce(e.newer_event_count, 0) > 0 THEN 'api+webhook'
            ELSE 'api'
        END AS source,
        a.last_read_at AS last_api_read_at,
        e.last_event_at
    FROM latest_api_state AS a
    FULL OUTER JOIN event_state AS e
        ON e.tenant_id = a.tenant_id AND e.appointment_id = a.appointment_id
)

SELECT
    tenant_id,
    appointment_id,
    meeting_type_id,
    host_user_id,
    start_at,
    end_at,
    created_at,
    updated_at,
    CASE WHEN is_cancelled THEN 'cancelled' ELSE 'confirmed' END AS status,
    cancelled_at,
    cancel_source,
    CASE
        WHEN lower(cancel_source) IN ('attendee', 'guest', 'invitee', 'booker') THEN 'attendee'
        WHEN lower(cancel_source) IN ('host', 'user', 'organizer', 'organiser', 'owner')
            THEN 'host'
        WHEN lower(cancel_source) IN ('api', 'api-key', 'api_key', 'platform-api') THEN 'api'
    END AS cancelled_by,
    rescheduled_at,
    reschedule_count,
    -- a meeting never rescheduled starts where it always did
    CASE WHEN reschedule_count = 0 THEN start_at ELSE first_start_seen END AS original_start_at,
    attendee_count,
    channel,
    deleted_at,
    source,
    last_api_read_at,
    last_event_at
FROM appointments_merged
WHERE NOT EXISTS (
    SELECT 1 FROM core.rejected_booking_events AS r
    WHERE r.tenant_id = appointments_merged.tenant_id
      AND r.appointment_id = appointments_merged.appointment_id
);

COMMENT ON TABLE core.appointments IS 'One row per meetergo appointment with its latest known state across API reads and webhook events, ordered by source timestamps: events newer than the API read''s updatedAt are applied on top of it (a newer booking_cancelled cancels, a newer booking_rescheduled moves the meeting), older ones are superseded by the read. Cancellation is sticky against later created/rescheduled events. Includes appointments known only from webhooks, except those that cannot form a valid row (see core.rejected_booking_events). Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.appointments.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.appointments.appointment_id IS 'meetergo appointment id (UUID).';
COMMENT ON COLUMN core.appointments.meeting_type_id IS 'Meeting type booked.';
COMMENT ON COLUMN core.appointments.host_user_id IS 'Main host user: hostingInfo.mainHost, else hostIds[0], else hosts[0].id. Multi-host appointments appear once, under the main host.';
COMMENT ON COLUMN core.appointments.start_at IS 'Meeting start (UTC instant), after any reschedule known from the API or a newer webhook.';
COMMENT ON COLUMN core.appointments.end_at IS 'Meeting end (UTC instant); when a reschedule event carries no end, the new start plus the API''s duration.';
COMMENT ON COLUMN core.appointments.created_at IS 'When the booking was made (createdAt, UTC instant); for webhook-only appointments createdAt from the body, else the booking_created event time; NULL when no event says.';
COMMENT ON COLUMN core.appointments.updated_at IS 'Last known change (UTC instant): the later of the API''s updatedAt and the newest webhook event applied.';
COMMENT ON COLUMN core.appointments.status IS 'cancelled | confirmed. cancelled when the API says so (isCancelled or cancel.actionAt) or a booking_cancelled webhook newer than the API read arrived.';
COMMENT ON COLUMN core.appointments.cancelled_at IS 'When it was cancelled (UTC instant): the API''s cancel.actionAt (updatedAt if only isCancelled is set), else the cancel time of the earliest newer booking_cancelled event. NULL when confirmed.';
COMMENT ON COLUMN core.appointments.cancel_source IS 'Who cancelled, as meetergo sent it (cancel.actionSource) in the API read or, for a cancellation known from a newer webhook, in that event. NULL when confirmed or not sent.';
COMMENT ON COLUMN core.appointments.cancelled_by IS 'Who cancelled, from cancel_source (case-insensitive): attendee (attendee, guest, invitee, booker), host (host, user, organizer, organiser, owner), api (api, api-key, api_key, platform-api). NULL when confirmed, when meetergo sent no source, or for any other value (cancel_source shows it).';
COMMENT ON COLUMN core.appointments.original_start_at IS 'The first start seen for the meeting (UTC instant): start_at when it was never rescheduled; else the start from the earliest of: the pipeline''s first API read, a booking_created event, a booking_rescheduled event''s previous start. A meeting rescheduled before the pipeline first saw it, with no event telling its earlier start, shows the start as first seen.';
COMMENT ON COLUMN core.appointments.rescheduled_at IS 'When it was last rescheduled (UTC instant), from the API or a newer booking_rescheduled event.';
COMMENT ON COLUMN core.appointments.reschedule_count IS 'Number of reschedules: the API''s rescheduleCount plus distinct newer booking_rescheduled events (or the count an event reports, if higher).';
COMMENT ON COLUMN core.appointments.attendee_count IS 'Number of attendees.';
COMMENT ON COLUMN core.appointments.channel IS 'Meeting location channel (meetingInfo.channel: zoom, google, phone, ...). Not the booking source.';
COMMENT ON COLUMN core.appointments.deleted_at IS 'When the appointment was first found missing from the API (UTC instant); NULL while listed or known only from webhooks.';
COMMENT ON COLUMN core.appointments.source IS 'api = state from the API read alone; api+webhook = API read with newer webhook events applied; webhook = known only from webhook events so far.';
COMMENT ON COLUMN core.appointments.last_api_read_at IS 'When the pipeline last read the appointment from the API (UTC instant); NULL for webhook-only.';
COMMENT ON COLUMN core.appointments.last_event_at IS 'Source time of the newest booking webhook event for the appointment (UTC instant); NULL when none.';
