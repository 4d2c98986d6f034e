-- Step 3 (see migrate_appointment_fields.sql): every stored row into the new table, its fields
-- derived from its payload, then the old table dropped. `{{old_fields}}` is `EXCLUDE (fields)`
-- when the old table has a fields column, else empty. One streaming INSERT: DuckDB cannot
-- UPDATE a nested column of a large table within the memory cap.
INSERT INTO raw.appointments BY NAME
SELECT
    * {{old_fields}},
    appointment_fields(payload) AS fields
FROM raw.appointments_before_fields;

DROP TABLE raw.appointments_before_fields;
