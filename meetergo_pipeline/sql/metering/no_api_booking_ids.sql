-- No MEETERGO_API_BOOKINGS_FILE: the session-only id table the marts read is empty.
CREATE OR REPLACE TEMP TABLE api_booking_ids (appointment_id VARCHAR)
