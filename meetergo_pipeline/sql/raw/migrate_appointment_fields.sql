-- Step 1 of giving a file made by an older version raw.appointments.fields (appointment_fields()
-- changed, or the column is missing): set the table aside. Step 2 creates raw.appointments anew
-- (schema.sql), step 3 is copy_appointments_with_fields.sql. One transaction: a crash leaves
-- the old table as it was.
ALTER TABLE raw.appointments RENAME TO appointments_before_fields;
