-- Rows of {{table}}, how many {{column}} values occur more than once, and up to five of them.
WITH id_counts AS (
    SELECT {{column}} AS id, count(*) AS occurrences
    FROM {{table}}
    WHERE {{column}} IS NOT NULL
    GROUP BY ALL
)

SELECT
    (SELECT count(*) FROM {{table}}),
    count(*) FILTER (WHERE occurrences > 1),
    list(CAST(id AS VARCHAR) ORDER BY id) FILTER (WHERE occurrences > 1)[1:5]
FROM id_counts
