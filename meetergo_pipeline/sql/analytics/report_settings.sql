-- analytics.report_settings: the configuration this build of the analytics layer used, as one
-- row, so analysts can see the reporting time zone, the metered-booking rule and the plan.
-- Values arrive as bound parameters ($name); the other analytics models join to this row.
CREATE OR REPLACE TABLE analytics.report_settings AS
WITH settings_as_given AS (
    SELECT
        CAST($reporting_timezone AS VARCHAR) AS reporting_timezone,
        CAST($metered_booking_predicate AS VARCHAR) AS metered_booking_predicate,
        CAST($plan_included_bookings AS BIGINT) AS plan_included_bookings,
        CAST($plan_price_per_booking AS DECIMAL(12, 4)) AS plan_price_per_booking,
        CAST($plan_currency AS VARCHAR) AS plan_currency,
        CAST($api_bookings_file AS VARCHAR) AS api_bookings_file,
        CAST($api_booking_ids_listed AS BIGINT) AS api_booking_ids_listed,
        CAST($as_of AS TIMESTAMPTZ) AS as_of
),

running_month_bounds AS (
    SELECT
        *,
        timezone(reporting_timezone, as_of) AS as_of_local,
        date_trunc('month', timezone(reporting_timezone, as_of)) AS month_start_local
    FROM settings_as_given
)

SELECT
    reporting_timezone,
    metered_booking_predicate,
    CASE WHEN api_bookings_file IS NULL THEN 'predicate' ELSE 'api_bookings_file' END
        AS metered_by,
    api_bookings_file,
    api_booking_ids_listed,
    plan_included_bookings,
    plan_price_per_booking,
    plan_currency,
    as_of,
    CAST(month_start_local AS DATE) AS running_month,
    epoch(as_of_local - month_start_local)
        / epoch((month_start_local + INTERVAL 1 MONTH) - month_start_local)
        AS running_month_elapsed_fraction
FROM running_month_bounds;

COMMENT ON TABLE analytics.report_settings IS 'One row: the configuration the current analytics build used (reporting time zone, metered-booking rule, billing plan) and the clock reading it was built at.';
COMMENT ON COLUMN analytics.report_settings.reporting_timezone IS 'IANA time zone in which analytics days and months are cut (env MEETERGO_REPORTING_TIMEZONE, default UTC).';
COMMENT ON COLUMN analytics.report_settings.metered_booking_predicate IS 'SQL boolean that marks a booking as created via the API and therefore metered, over a = core.appointments, u = its main host (core.users), mt = its meeting type (core.meeting_types, with metadata) and n = the booking''s notes (n.notes) (env MEETERGO_METERED_BOOKING_PREDICATE, default u.user_type = ''api-platform''). Not applied while api_bookings_file is set.';
COMMENT ON COLUMN analytics.report_settings.metered_by IS 'What decided which bookings are metered: predicate (metered_booking_predicate) or api_bookings_file (exactly the appointment ids the file lists).';
COMMENT ON COLUMN analytics.report_settings.api_bookings_file IS 'Name of the file of appointment ids the customer''s application booked through the API (env MEETERGO_API_BOOKINGS_FILE, CSV or Parquet); NULL when unset.';
COMMENT ON COLUMN analytics.report_settings.api_booking_ids_listed IS 'Distinct appointment ids the file listed at this build; NULL when no file is set. More than analytics.metered_bookings has rows: ids of bookings the pipeline has not seen (yet), or without a created time.';
COMMENT ON COLUMN analytics.report_settings.plan_included_bookings IS 'Metered bookings included in the plan per billing month (env MEETERGO_PLAN_INCLUDED_BOOKINGS, default 1000).';
COMMENT ON COLUMN analytics.report_settings.plan_price_per_booking IS 'Price per metered booking above the included amount, in plan_currency (env MEETERGO_PLAN_PRICE_PER_BOOKING, default 0.50).';
COMMENT ON COLUMN analytics.report_settings.plan_currency IS 'ISO 4217 currency of the plan prices (env MEETERGO_PLAN_CURRENCY, default EUR).';
COMMENT ON COLUMN analytics.report_settings.as_of IS 'Clock reading (UTC instant) the build used as now: decides the running month and its projection.';
COMMENT ON COLUMN analytics.report_settings.running_month IS 'First day of the billing month containing as_of, in the reporting time zone.';
COMMENT ON COLUMN analytics.report_settings.running_month_elapsed_fraction IS 'Share of the running month elapsed at as_of (0..1), measured in reporting-time-zone wall-clock time.';
