-- Every table of a published snapshot with its comment, in schema and table order.
SELECT schema_name, table_name, comment
FROM duckdb_tables()
WHERE database_name = current_database()
ORDER BY schema_name, table_name
