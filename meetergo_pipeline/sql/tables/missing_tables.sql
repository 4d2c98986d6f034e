-- Which of the qualified table names in $tables do not exist in the current database.
SELECT coalesce(list(wanted.name ORDER BY wanted.name), [])
FROM unnest($tables::VARCHAR[]) AS wanted (name)
WHERE wanted.name NOT IN (
    SELECT schema_name || '.' || table_name
    FROM duckdb_tables()
    WHERE database_name = current_database()
)
