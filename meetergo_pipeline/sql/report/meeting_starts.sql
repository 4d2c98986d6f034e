-- Weekday (ISO: 1 = Monday) and hour at which each confirmed, live meeting starts in its
-- host's own time zone (core.users.timezone), for meetings starting on or after day $since
-- (reporting time zone), those scheduled ahead included. A host whose zone is unset or
-- unknown to DuckDB is read in the reporting time zone (in_host_zone false).
WITH known_zones AS (
    SELECT name FROM pg_timezone_names()
),

meetings AS (
    SELECT
        timezone(coalesce(z.name, s.reporting_timezone), a.start_at) AS start_local,
        z.name IS NOT NULL AS in_host_zone
    FROM core.appointments AS a
    CROSS JOIN analytics.report_settings AS s
    LEFT JOIN core.users AS u ON u.tenant_id = a.tenant_id AND u.user_id = a.host_user_id
    LEFT JOIN known_zones AS z ON z.name = u.timezone
    WHERE a.status = 'confirmed'
      AND a.deleted_at IS NULL
      AND a.start_at IS NOT NULL
      AND CAST(timezone(s.reporting_timezone, a.start_at) AS DATE) >= $since
)

SELECT
    isodow(start_local) AS start_weekday,
    hour(start_local) AS start_hour,
    in_host_zone
FROM meetings
