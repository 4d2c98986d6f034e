-- core.meeting_types: one row per meeting type the API listed, flattened from meetingInfo.
-- metadata is the meeting type's free-form metadata JSON (the metered-booking rule may read
-- it as mt.metadata): the listing's own, else the one embedded in its newest appointment
-- (appointments carry meetingType.metadata even where the listing leaves it out).
CREATE OR REPLACE TABLE core.meeting_types AS
WITH metadata_from_appointments AS (
    SELECT
        tenant_id,
        meeting_type_id,
        arg_max(meeting_type_metadata, coalesce(updated_at, created_at)) AS metadata
    FROM core.api_appointments
    WHERE meeting_type_id IS NOT NULL AND meeting_type_metadata IS NOT NULL
    GROUP BY tenant_id, meeting_type_id
)

SELECT
    r.tenant_id,
    r.meeting_type_id,
    coalesce(r.user_id, r.payload->>'userId') AS user_id,
    r.payload->'meetingInfo'->>'name' AS name,
    r.payload->>'slug' AS slug,
    TRY_CAST(r.payload->'meetingInfo'->>'duration' AS INTEGER) AS duration_minutes,
    r.payload->'meetingInfo'->>'channel' AS channel,
    TRY_CAST(r.payload->>'spots' AS INTEGER) AS spots,
    r.payload->>'queueId' AS queue_id,
    TRY_CAST(r.payload->>'enabled' AS BOOLEAN) AS is_enabled,
    TRY_CAST(r.payload->>'createdAt' AS TIMESTAMPTZ) AS created_at,
    r.deleted_at,
    coalesce(
        CASE WHEN json_type(r.payload->'metadata') = 'OBJECT' THEN r.payload->'metadata' END,
        m.metadata
    ) AS metadata
FROM raw.meeting_types AS r
LEFT JOIN metadata_from_appointments AS m
    ON m.tenant_id = r.tenant_id AND m.meeting_type_id = r.meeting_type_id
ORDER BY r.tenant_id, r.meeting_type_id;

COMMENT ON TABLE core.meeting_types IS 'One row per meetergo meeting type (booking page) as the API last showed it. Timestamps are TIMESTAMPTZ instants (shown in UTC by the pipeline).';
COMMENT ON COLUMN core.meeting_types.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.meeting_types.meeting_type_id IS 'meetergo meeting type id (UUID).';
COMMENT ON COLUMN core.meeting_types.user_id IS 'User who owns the meeting type.';
COMMENT ON COLUMN core.meeting_types.name IS 'Name shown to bookers (meetingInfo.name).';
COMMENT ON COLUMN core.meeting_types.slug IS 'URL slug of the booking page.';
COMMENT ON COLUMN core.meeting_types.duration_minutes IS 'Meeting length in minutes (meetingInfo.duration).';
COMMENT ON COLUMN core.meeting_types.channel IS 'Where the meeting takes place: zoom, google, phone, local, teams, custom... (meetingInfo.channel). Not the booking source.';
COMMENT ON COLUMN core.meeting_types.spots IS 'Attendee places per slot (spots).';
COMMENT ON COLUMN core.meeting_types.queue_id IS 'Round-robin queue the meeting type belongs to, if any.';
COMMENT ON COLUMN core.meeting_types.is_enabled IS 'True when the booking page accepts bookings.';
COMMENT ON COLUMN core.meeting_types.created_at IS 'When the meeting type was created (UTC instant).';
COMMENT ON COLUMN core.meeting_types.deleted_at IS 'When the meeting type was first found missing from the API (UTC instant); NULL while it exists.';
COMMENT ON COLUMN core.meeting_types.metadata IS 'The meeting type''s metadata JSON object: the listing''s metadata, else meetingType.metadata of its newest appointment; NULL when neither is an object. The metered-booking rule can read it (mt.metadata). Free-form customer data: kept in the working file, not published.';
