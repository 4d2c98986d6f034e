-- Booking activity per day (reporting time zone) and meeting type name from
-- analytics.booking_volume_daily, days on or after $since. Meeting types of several hosts
-- that share a name count together; the report sums the days into weeks.
SELECT
    v.day,
    coalesce(m.name, 'unknown meeting type') AS meeting_type,
    CAST(sum(v.bookings_created) AS BIGINT) AS created,
    CAST(sum(v.bookings_cancelled) AS BIGINT) AS cancelled,
    CAST(sum(v.bookings_rescheduled) AS BIGINT) AS rescheduled
FROM analytics.booking_volume_daily AS v
LEFT JOIN core.meeting_types AS m
    ON m.tenant_id = v.tenant_id AND m.meeting_type_id = v.meeting_type_id
WHERE v.day >= $since
GROUP BY ALL
ORDER BY v.day, meeting_type
