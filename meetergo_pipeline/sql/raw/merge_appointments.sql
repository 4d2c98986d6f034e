-- Merge staged appointments into raw.appointments by tenant ($tenant_id) and id: update the rows already stored,
-- then insert the new ones (run in this order, statement by statement). The stage may hold
-- an appointment twice (a multi-host appointment is listed once per host, moments apart):
-- its first read (lowest rowid) wins, in this merge and against a row this sync already
-- stored ($seen_at). An UPDATE plus an anti-join INSERT rather than one MERGE: on a full
-- sweep it takes about a quarter less CPU, the commits after it are nearly free and the
-- file is half the size (BENCHMARKS.md, Findings). first_start_at keeps the start of the
-- first read (core.appointments.original_start_at); a row stored before the column existed
-- gets the start it held until now.
UPDATE raw.appointments AS stored
SET
    created_at = read.created_at,
    start_at = read.start_at,
    first_start_at = coalesce(stored.first_start_at, stored.start_at),
    payload = read.payload,
    source_updated_at = read.updated_at,
    fields = read.fields,
    last_seen_at = $seen_at,
    deleted_at = NULL
FROM staged_appointments AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_appointments GROUP BY appointment_id)
    AND stored.tenant_id = $tenant_id
    AND stored.appointment_id = read.appointment_id
    AND stored.last_seen_at IS DISTINCT FROM $seen_at;

INSERT INTO raw.appointments
    (appointment_id, created_at, start_at, payload, source_updated_at,
     first_seen_at, last_seen_at, deleted_at, first_start_at, fields, tenant_id)
SELECT
    read.appointment_id,
    read.created_at,
    read.start_at,
    read.payload,
    read.updated_at,
    $seen_at,
    $seen_at,
    NULL,
    read.start_at,
    read.fields,
    $tenant_id
FROM staged_appointments AS read
WHERE
    read.rowid IN (SELECT min(rowid) FROM staged_appointments GROUP BY appointment_id)
    AND NOT EXISTS (
        SELECT 1 FROM raw.appointments AS stored
        WHERE stored.tenant_id = $tenant_id AND stored.appointment_id = read.appointment_id
    );
