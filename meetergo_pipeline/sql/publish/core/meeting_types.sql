-- Published core.meeting_types: the booking pages the customer's users offer.
CREATE TABLE {{published}}.core.meeting_types AS
SELECT
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
