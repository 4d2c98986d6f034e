-- Published core.meeting_types: the booking pages the customer's users offer. metadata (free-form
-- JSON the customer's application sets, read by the metered-booking rule) is not published.
CREATE TABLE {{published}}.core.meeting_types AS
SELECT
    tenant_id,
    meeting_type_id,
    user_id,
    name,
    slug,
    duration_minutes,
    channel,
    spots,
    queue_id,
    is_enabled,
    created_at,
    deleted_at
FROM core.meeting_types;
