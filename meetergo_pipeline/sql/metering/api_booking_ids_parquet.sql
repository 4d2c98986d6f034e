-- The appointment ids of a Parquet MEETERGO_API_BOOKINGS_FILE ($path; column appointment_id,
-- other columns are ignored), as text, trimmed and distinct, blank ones skipped: the
-- session-only table analytics/metered_bookings.sql and report_settings.sql read.
CREATE OR REPLACE TEMP TABLE api_booking_ids AS
SELECT DISTINCT trim(CAST(appointment_id AS VARCHAR)) AS appointment_id
FROM read_parquet($path)
WHERE nullif(trim(CAST(appointment_id AS VARCHAR)), '') IS NOT NULL
