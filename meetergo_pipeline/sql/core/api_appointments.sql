-- core.api_appointments: each appointment exactly as the latest API read showed it, before
-- any webhook event is applied. core.appointments merges this with core.booking_events;
-- analytics.webhook_reconciliation compares the two.
-- The payload's fields come parsed (raw.appointments.fields, see
-- sql/raw/appointment_fields.sql): the JSON is not read here. Attendees, notes, the secret
-- and meeting links are not selected: they stay in raw.
CREATE OR REPLACE TABLE core.api_appointments AS
WITH parsed AS (
    SELECT
        r.tenant_id,
        r.appointment_id,
        r.start_at,
        r.first_start_at,
        r.created_at,
        r.source_updated_at,
        r.first_seen_at,
        r.last_seen_at,
        r.deleted_at,
        r.fields AS p
    FROM raw.appointments AS r
),

api_fields AS (
    SELECT
        tenant_id,
        appointment_id,
        coalesce(p.meetingTypeId, p.meetingType.id) AS meeting_type_id,
        coalesce(p.hostingInfo.mainHost, p.hostIds[1], p.hosts[1].id) AS host_user_id,
        coalesce(p.hostIds, list_transform(p.hosts, lambda h: h.id)) AS host_user_ids,
        p.meetingType.metadata AS meeting_type_metadata,
        coalesce(p.start, start_at) AS start_at,
        coalesce(first_start_at, start_at) AS first_read_start_at,
        p."end" AS end_at,
        coalesce(p.createdAt, created_at) AS created_at,
        coalesce(p.updatedAt, source_updated_at) AS updated_at,
        coalesce(p.isCancelled, false) OR p.cancel.actionAt IS NOT NULL AS is_cancelled,
        p.cancel.actionAt AS cancel_action_at,
        nullif(trim(p.cancel.actionSource), '') AS cancel_action_source,
        p.rescheduledAt AS rescheduled_at,
        coalesce(p.rescheduleCount, 0) AS reschedule_count,
        len(p.attendees)::INTEGER AS attendee_count,
        p.meetingInfo.channel AS channel,
        first_seen_at AS first_read_at,
        last_seen_at AS last_read_at,
        deleted_at
    FROM parsed
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
    CASE WHEN is_cancelled THEN coalesce(cancel_action_at, updated_at) END AS cancelled_at,
    CASE WHEN is_cancelled THEN cancel_action_source END AS cancel_source,
    rescheduled_at,
    reschedule_count,
    attendee_count,
    channel,
    -- the source time this read's state is current as of; events newer than it are news
    coalesce(updated_at, greatest(created_at, cancel_action_at, rescheduled_at)) AS state_as_of,
    first_read_at,
    last_read_at,
    deleted_at,
    first_read_start_at,
    host_user_ids,
    meeting_type_metadata
FROM api_fields;

COMMENT ON TABLE core.api_appointments IS 'One row per appointment as the latest meetergo API read showed it, without webhook events applied (see core.appointments for the merged latest state). Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline); payload times with Z or offsets like +01:00 are normalised to the same instant.';
COMMENT ON COLUMN core.api_appointments.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.api_appointments.appointment_id IS 'meetergo appointment id (UUID).';
COMMENT ON COLUMN core.api_appointments.meeting_type_id IS 'Meeting type booked (meetingTypeId, else meetingType.id).';
COMMENT ON COLUMN core.api_appointments.host_user_id IS 'Main host: hostingInfo.mainHost, else hostIds[0], else hosts[0].id.';
COMMENT ON COLUMN core.api_appointments.start_at IS 'Meeting start (UTC instant).';
COMMENT ON COLUMN core.api_appointments.end_at IS 'Meeting end (UTC instant).';
COMMENT ON COLUMN core.api_appointments.created_at IS 'When the booking was made (createdAt, UTC instant).';
COMMENT ON COLUMN core.api_appointments.updated_at IS 'Last change at meetergo as the API reported it (updatedAt, UTC instant).';
COMMENT ON COLUMN core.api_appointments.status IS 'cancelled when isCancelled is true or cancel.actionAt is set, else confirmed (the API has no status string).';
COMMENT ON COLUMN core.api_appointments.cancelled_at IS 'When it was cancelled: cancel.actionAt, else updatedAt when only isCancelled is set (UTC instant). NULL when confirmed.';
COMMENT ON COLUMN core.api_appointments.rescheduled_at IS 'When it was last rescheduled (rescheduledAt, UTC instant).';
COMMENT ON COLUMN core.api_appointments.reschedule_count IS 'How often it was rescheduled (rescheduleCount, 0 when absent).';
COMMENT ON COLUMN core.api_appointments.attendee_count IS 'Number of attendees (length of attendees[]).';
COMMENT ON COLUMN core.api_appointments.channel IS 'Meeting location channel (meetingInfo.channel: zoom, google, phone, ...). Not the booking source.';
COMMENT ON COLUMN core.api_appointments.state_as_of IS 'Source time this state is current as of: updatedAt, else the latest of createdAt, cancel.actionAt and rescheduledAt (UTC instant). Webhook events later than this are not reflected in the read.';
COMMENT ON COLUMN core.api_appointments.first_read_at IS 'When the pipeline first read the appointment from the API (UTC instant).';
COMMENT ON COLUMN core.api_appointments.last_read_at IS 'When the pipeline last read the appointment from the API (UTC instant).';
COMMENT ON COLUMN core.api_appointments.deleted_at IS 'When the appointment was first found missing from the API (UTC instant); NULL while listed.';
COMMENT ON COLUMN core.api_appointments.cancel_source IS 'Who cancelled, as meetergo sent it (cancel.actionSource, e.g. attendee, host, api); NULL when confirmed or not sent. core.appointments.cancelled_by maps it.';
COMMENT ON COLUMN core.api_appointments.first_read_start_at IS 'Meeting start as the pipeline''s first API read of the appointment showed it (UTC instant); for rows stored before this was kept, the earliest start still known.';
COMMENT ON COLUMN core.api_appointments.host_user_ids IS 'The host users the API lists: hostIds[], else hosts[].id, as sent (core.appointment_hosts has one row per distinct host, the main host included).';
COMMENT ON COLUMN core.api_appointments.meeting_type_metadata IS 'The meeting type''s metadata JSON as embedded in the appointment (meetingType.metadata); core.meeting_types.metadata falls back to it. Not published.';
