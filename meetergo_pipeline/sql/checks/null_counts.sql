-- One row per column named in $columns: its name as {{table}} spells it, and the rows where
-- it is NULL.
UNPIVOT (
    SELECT count(*) - count(COLUMNS($columns)) AS "\0" FROM {{table}}
) ON COLUMNS(*) INTO NAME column_name VALUE null_rows
