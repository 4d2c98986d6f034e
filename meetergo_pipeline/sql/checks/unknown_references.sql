-- Appointments whose meeting type or host user is not in core (within their tenant): both counts and a sample.
WITH dangling_references AS (
    SELECT
        a.appointment_id,
        a.meeting_type_id IS NOT NULL AND mt.meeting_type_id IS NULL AS unknown_meeting_type,
        a.host_user_id IS NOT NULL AND u.user_id IS NULL AS unknown_host
    FROM core.appointments AS a
    LEFT JOIN core.meeting_types AS mt
        ON mt.tenant_id = a.tenant_id AND mt.meeting_type_id = a.meeting_type_id
    LEFT JOIN core.users AS u ON u.tenant_id = a.tenant_id AND u.user_id = a.host_user_id
)

SELECT
    count(*) FILTER (WHERE unknown_meeting_type),
    count(*) FILTER (WHERE unknown_host),
    list(appointment_id ORDER BY appointment_id)
        FILTER (WHERE unknown_meeting_type OR unknown_host)[1:5]
FROM dangling_references
