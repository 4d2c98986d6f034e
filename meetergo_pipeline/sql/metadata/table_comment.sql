-- The COMMENT of one table of the working file ($schema_name.$table_name); no row if the
-- table does not exist.
SELECT comment
FROM duckdb_tables()
WHERE database_name = current_database()
  AND schema_name = $schema_name
  AND table_name = $table_name
