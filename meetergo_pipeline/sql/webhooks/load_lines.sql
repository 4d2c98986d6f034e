-- One batch of log lines into webhook_lines, one row per non-blank line, parsed once:
-- a JSON object line gets its body and received_at, any other line keeps its text and the
-- reason it is quarantined. The CSV reader splits on newlines only (chr(1) as delimiter, no
-- quoting); DuckDB does all JSON parsing. The read buffer is one line's limit (the batch's
-- size): DuckDB 1.x would otherwise allocate 16 times that, beyond the memory cap.
--
-- A line is our receiver's {"received_at", "body"} wrapper (a received_at value and an object
-- body) or a bare body dropped in by another producer, which gets $fallback_received_at.
CREATE OR REPLACE TEMP TABLE webhook_lines AS
WITH lines AS (
    SELECT line_no, line, try(json_type(line)) AS json_kind
    FROM (
        SELECT row_number() OVER () AS line_no, line
        FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '',
                      escape = '', header = false, auto_detect = false, new_line = '\n',
                      max_line_size = $max_line, buffer_size = $max_line)
    )
    WHERE line IS NOT NULL AND trim(line) <> ''
),

objects AS (
    SELECT
        line_no,
        line,
        json_transform(line, '{"received_at": "VARCHAR", "body": "JSON"}') AS wrapper
    FROM lines
    WHERE json_kind = 'OBJECT'
),

unwrapped AS (
    SELECT
        line_no,
        wrapper.received_at IS NOT NULL AND starts_with(wrapper.body, '{') AS is_wrapped,
        CASE WHEN is_wrapped THEN wrapper.body ELSE json(line) END AS body,
        coalesce(
            CASE WHEN is_wrapped THEN webhook_instant(wrapper.received_at) END,
            $fallback_received_at
        ) AS received_at
    FROM objects
)

SELECT line_no, body, received_at, NULL AS line, NULL AS reason
FROM unwrapped
UNION ALL
SELECT
    line_no,
    NULL,
    NULL,
    line,
    CASE WHEN json_kind IS NULL THEN 'invalid JSON'
        ELSE 'JSON ' || lower(json_kind) || ', not an object' END
FROM lines
WHERE json_kind IS DISTINCT FROM 'OBJECT'
