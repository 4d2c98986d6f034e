-- Published analytics.report_settings: the settings the marts were built with.
CREATE TABLE {{published}}.analytics.report_settings AS
SELECT
    reporting_timezone,
    metered_booking_predicate,
    metered_by,
    api_bookings_file,
    api_booking_ids_listed,
    plan_included_bookings,
    plan_price_per_booking,
    plan_currency,
    as_of,
    running_month,
    running_month_elapsed_fraction
FROM analytics.report_settings;
