-- Columns of one table of the working file ($schema_name.$table_name) in table order, with
-- their DuckDB type and COMMENT: the column schema the Dagster UI shows.
SELECT column_name, data_type, comment, is_nullable
FROM duckdb_columns()
WHERE database_name = current_database()
  AND schema_name = $schema_name
  AND table_name = $table_name
ORDER BY column_index
