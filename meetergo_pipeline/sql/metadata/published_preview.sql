-- At most $limit rows of what the snapshot publishes of one table, the latest first (every
-- column descending, so a table led by its day or month shows the newest). The subquery is
-- the SELECT of the table's contract file under sql/publish/, exactly as that file has it.
SELECT *
FROM ({{contract_select}}) AS published
ORDER BY ALL DESC
LIMIT $limit
