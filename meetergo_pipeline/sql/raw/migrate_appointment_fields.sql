-- raw.appointments.fields for a file made before the column existed, or before a field was
-- added to appointment_fields(): the column takes the macro's type, re-derived from every
-- stored payload. `{{fields_type}}` is that type, as DuckDB spells it.
ALTER TABLE raw.appointments ADD COLUMN IF NOT EXISTS fields {{fields_type}};

ALTER TABLE raw.appointments
ALTER COLUMN fields SET DATA TYPE {{fields_type}} USING appointment_fields(payload);

ALTER TABLE raw.appointments ALTER COLUMN fields SET NOT NULL;
