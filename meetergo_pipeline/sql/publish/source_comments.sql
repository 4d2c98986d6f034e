-- The working file's comments for every published table and column that has none yet (the
-- contract files may write their own), matched by schema, table and column name.
SELECT p.schema_name, p.table_name, NULL AS column_name, s.comment
FROM duckdb_tables() AS p
JOIN duckdb_tables() AS s
    ON s.database_name = current_database()
    AND s.schema_name = p.schema_name
    AND s.table_name = p.table_name
WHERE p.database_name = $published
  AND coalesce(p.comment, '') = ''
  AND coalesce(s.comment, '') <> ''
UNION ALL
SELECT p.schema_name, p.table_name, p.column_name, s.comment
FROM duckdb_columns() AS p
JOIN duckdb_columns() AS s
    ON s.database_name = current_database()
    AND s.schema_name = p.schema_name
    AND s.table_name = p.table_name
    AND s.column_name = p.column_name
WHERE p.database_name = $published
  AND coalesce(p.comment, '') = ''
  AND coalesce(s.comment, '') <> ''
ORDER BY ALL;
