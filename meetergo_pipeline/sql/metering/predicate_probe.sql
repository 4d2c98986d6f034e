-- The scope the metered-booking predicate is checked in (DESCRIBE'd, never run), alias for
-- alias the scope analytics/metered_bookings.sql evaluates it in: a = core.appointments,
-- u = the main host (core.users), mt = the meeting type (core.meeting_types, with metadata),
-- n = the booking's notes (n.notes, text). The model reads the notes from raw; here only
-- their type matters, so the probe reads no personal data.
SELECT ({{predicate}}) AS is_metered
FROM core.appointments AS a
LEFT JOIN core.users AS u ON u.user_id = a.host_user_id
LEFT JOIN core.meeting_types AS mt ON mt.meeting_type_id = a.meeting_type_id
LEFT JOIN (
    SELECT appointment_id, CAST(NULL AS VARCHAR) AS notes FROM core.appointments
) AS n ON n.appointment_id = a.appointment_id
