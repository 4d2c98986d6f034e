-- Merge staged appointments into raw.appointments by id. The stage may hold an appointment
-- twice (a multi-host appointment is listed once per host, moments apart): its first read
-- wins, in this merge and against a row this sync already stored ($seen_at).
MERGE INTO raw.appointments AS stored
USING (
    SELECT *
    FROM staged_appointments
    QUALIFY row_number() OVER (PARTITION BY appointment_id ORDER BY rowid) = 1
) AS read
ON stored.appointment_id = read.appointment_id
WHEN MATCHED AND stored.last_seen_at IS DISTINCT FROM $seen_at THEN UPDATE SET
    created_at = read.created_at,
    start_at = read.start_at,
    payload = read.payload,
    source_updated_at = read.updated_at,
    last_seen_at = $seen_at,
    deleted_at = NULL
WHEN NOT MATCHED THEN INSERT
    (appointment_id, created_at, start_at, payload, source_updated_at,
     first_seen_at, last_seen_at, deleted_at)
VALUES
    (read.appointment_id, read.created_at, read.start_at, read.payload, read.updated_at,
     $seen_at, $seen_at, NULL)
