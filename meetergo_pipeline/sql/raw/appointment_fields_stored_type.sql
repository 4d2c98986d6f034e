-- The type raw.appointments.fields has now (no row when the column does not exist yet).
SELECT c.data_type
FROM duckdb_columns() AS c
WHERE
    c.database_name = current_database()
    AND c.schema_name = 'raw'
    AND c.table_name = 'appointments'
    AND c.column_name = 'fields'
