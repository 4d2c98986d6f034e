-- Bookings created and cancelled on the last complete day before the build's day, and in the
-- seven complete days up to it, from analytics.booking_volume_daily (days in the reporting
-- time zone; the build's day is the one analytics.report_settings.as_of falls on).
WITH build_day AS (
    SELECT CAST(timezone(reporting_timezone, as_of) AS DATE) AS day
    FROM analytics.report_settings
)

SELECT
    b.day - 1 AS last_day,
    coalesce(sum(v.bookings_created) FILTER (WHERE v.day = b.day - 1), 0) AS created_last_day,
    coalesce(sum(v.bookings_cancelled) FILTER (WHERE v.day = b.day - 1), 0) AS cancelled_last_day,
    coalesce(sum(v.bookings_created), 0) AS created_last_7_days,
    coalesce(sum(v.bookings_cancelled), 0) AS cancelled_last_7_days
FROM build_day AS b
LEFT JOIN analytics.booking_volume_daily AS v
    ON v.day >= b.day - 7 AND v.day < b.day
GROUP BY b.day
