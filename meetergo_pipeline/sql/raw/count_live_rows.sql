-- Rows of one raw API table ({{table}}) the API still lists.
SELECT count(*) FROM {{table}} WHERE deleted_at IS NULL
