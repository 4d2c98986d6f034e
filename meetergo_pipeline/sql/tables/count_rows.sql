-- Rows of one table ({{table}}, qualified).
SELECT count(*) FROM {{table}}
