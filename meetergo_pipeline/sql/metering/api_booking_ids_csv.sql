-- The appointment ids of a CSV MEETERGO_API_BOOKINGS_FILE ($path; a header row names an
-- appointment_id column, other columns are ignored), trimmed and distinct, blank ones
-- skipped: the session-only table analytics/metered_bookings.sql and report_settings.sql read.
CREATE OR REPLACE TEMP TABLE api_booking_ids AS
SELECT DISTINCT trim(appointment_id) AS appointment_id
FROM read_csv($path, header = true, all_varchar = true)
WHERE nullif(trim(appointment_id), '') IS NOT NULL
