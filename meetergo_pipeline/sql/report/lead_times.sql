-- Lead time of every live booking made on or after day $since (reporting time zone): hours
-- from when it was booked (created_at) to when the meeting starts (start_at, after any
-- reschedule). Cancelled bookings count: the lead time is the booker's, whatever followed.
SELECT epoch(a.start_at - a.created_at) / 3600 AS lead_time_hours
FROM core.appointments AS a
CROSS JOIN analytics.report_settings AS s
WHERE a.deleted_at IS NULL
  AND a.start_at IS NOT NULL
  AND a.created_at IS NOT NULL
  AND CAST(timezone(s.reporting_timezone, a.created_at) AS DATE) >= $since
