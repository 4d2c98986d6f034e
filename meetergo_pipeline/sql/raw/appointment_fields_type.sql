-- The result type of appointment_fields(): the type raw.appointments.fields must have.
SELECT typeof(appointment_fields('{}'))
