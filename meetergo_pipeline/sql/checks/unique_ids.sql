-- Rows of {{table}}, how many {{key}} values occur more than once, and up to five of them.
-- {{key}} is one quoted column, or row(...) of a composite key's columns.
WITH id_counts AS (
    SELECT {{key}} AS id, count(*) AS occurrences
    FROM {{table}}
    WHERE {{key_not_null}}
    GROUP BY ALL
)

SELECT
    (SELECT count(*) FROM {{table}}),
    count(*) FILTER (WHERE occurrences > 1),
    list(CAST(id AS VARCHAR) ORDER BY id) FILTER (WHERE occurrences > 1)[1:5]
FROM id_counts
