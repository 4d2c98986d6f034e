"""SQL for loading webhook log lines into ``raw.webhook_events`` (used by ``ingest.py``).

Every statement works on the temp table ``webhook_lines(line_no, line)`` holding one batch of
raw log lines; DuckDB does all JSON parsing.
"""


def _utc_timestamp(text: str) -> str:
    """ISO text with ``Z``/offset → that instant; naive text → read as UTC; epoch s or ms."""
    return f"""CASE
        WHEN regexp_matches({text}, '^\\d{{12,13}}$')
            THEN to_timestamp(TRY_CAST({text} AS BIGINT) / 1000)
        WHEN regexp_matches({text}, '^\\d{{9,10}}$') THEN to_timestamp(TRY_CAST({text} AS BIGINT))
        WHEN regexp_matches({text}, '([zZ]|[+-]\\d\\d(:?\\d\\d)?)$')
            THEN TRY_CAST({text} AS TIMESTAMPTZ)
        ELSE TRY_CAST({text} AS TIMESTAMP) AT TIME ZONE 'UTC' END"""


# A line is our receiver's {"received_at", "body"} wrapper or a bare body.
_WRAPPED = "(json_exists(line, '$.received_at') AND json_type(line, '$.body') = 'OBJECT')"
_BODY = f"CASE WHEN {_WRAPPED} THEN json_extract(line, '$.body') ELSE json(line) END"

LOAD_LINES = """
CREATE OR REPLACE TEMP TABLE webhook_lines AS
SELECT line_no, line FROM (
    SELECT row_number() OVER () AS line_no, line
    FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '',
                  header = false, auto_detect = false, new_line = '\\n', max_line_size = $max_line)
)
WHERE line IS NOT NULL AND trim(line) <> ''
"""

MALFORMED_LINES = """
SELECT line_no, line, reason FROM (
    SELECT line_no, line,
        CASE WHEN NOT json_valid(line) THEN 'invalid JSON'
             WHEN json_type(line) <> 'OBJECT'
                 THEN 'JSON ' || lower(json_type(line)) || ', not an object'
        END AS reason
    FROM webhook_lines
)
WHERE reason IS NOT NULL
ORDER BY line_no
"""

# One row per usable line. A line is either our receiver's {"received_at", "body"} wrapper or a
# bare body dropped in by another producer (received_at then comes from $fallback_received_at).
# The event time and appointment id follow the flat (webhookType) or legacy (event) shape.
STAGE_DELIVERIES = f"""
CREATE OR REPLACE TEMP TABLE webhook_deliveries AS
WITH objects AS (
    SELECT line_no, line, json_extract_string(line, '$.received_at') AS received_at_text
    FROM webhook_lines
    WHERE json_valid(line) AND json_type(line) = 'OBJECT'
), deliveries AS (
    SELECT line_no,
        {_BODY} AS body,
        coalesce(CASE WHEN {_WRAPPED} THEN {_utc_timestamp("received_at_text")} END,
                 $fallback_received_at) AS received_at
    FROM objects
), fields AS (
    SELECT line_no, body, received_at, json_transform(body, '{{
        "webhookType": "VARCHAR", "event": "VARCHAR", "id": "VARCHAR", "timestamp": "VARCHAR",
        "createdAt": "VARCHAR", "updatedAt": "VARCHAR", "rescheduledAt": "VARCHAR",
        "cancel": {{"actionAt": "VARCHAR"}}, "data": {{"appointmentId": "VARCHAR", "id": "VARCHAR"}}
    }}') AS f
    FROM deliveries
), typed AS (
    SELECT line_no, body, received_at, f,
        coalesce(f.webhookType, f.event, 'unknown') AS event_type,
        f.webhookType IS NULL AND f.event IS NOT NULL AS is_legacy
    FROM fields
), resolved AS (
    SELECT line_no, body, received_at, event_type,
        CASE WHEN starts_with(event_type, 'booking_') THEN
            CASE WHEN is_legacy THEN coalesce(f.data.appointmentId, f.data.id) ELSE f.id END
        END AS appointment_id,
        CASE WHEN is_legacy THEN f.timestamp
             WHEN event_type = 'booking_created' THEN coalesce(f.createdAt, f.updatedAt)
             WHEN event_type = 'booking_cancelled' THEN coalesce(f.cancel.actionAt, f.updatedAt)
             WHEN event_type = 'booking_rescheduled' THEN coalesce(f.rescheduledAt, f.updatedAt)
             ELSE coalesce(f.updatedAt, f.createdAt)
        END AS event_time_text
    FROM typed
), timed AS (
    SELECT *, {_utc_timestamp("event_time_text")} AS event_time FROM resolved
)
SELECT line_no, received_at, event_type, appointment_id, event_time,
    md5(concat_ws('|', event_type, coalesce(appointment_id, ''),
                  coalesce(CAST(epoch_us(event_time) AS VARCHAR), event_time_text, ''),
                  md5(CAST(body AS VARCHAR)))) AS event_key
FROM timed
"""

# Deliveries of one batch collapsed onto their event key; the first receipt wins.
GROUP_BY_KEY = """
CREATE OR REPLACE TEMP TABLE webhook_batch_keys AS
SELECT event_key, count(*) AS deliveries, min(received_at) AS first_received_at,
       arg_min(line_no, received_at) AS first_line_no
FROM webhook_deliveries
GROUP BY event_key
"""

COUNT_REPEATS = """
UPDATE raw.webhook_events AS e
SET delivery_count = e.delivery_count + k.deliveries,
    received_at = least(e.received_at, k.first_received_at)
FROM webhook_batch_keys AS k
WHERE e.event_key = k.event_key
"""

INSERT_NEW_EVENTS = f"""
INSERT INTO raw.webhook_events
    (event_key, event_type, appointment_id, occurred_at, received_at, delivery_count, body,
     source_file)
SELECT k.event_key, d.event_type, d.appointment_id, coalesce(d.event_time, k.first_received_at),
       k.first_received_at, k.deliveries, {_BODY}, $source_file
FROM webhook_batch_keys AS k
JOIN webhook_deliveries AS d ON d.line_no = k.first_line_no
JOIN webhook_lines AS l ON l.line_no = k.first_line_no
ANTI JOIN raw.webhook_events AS e ON e.event_key = k.event_key
"""

SAVE_CURSOR = """
INSERT INTO raw.webhook_log_cursor (file_name, byte_offset, updated_at)
VALUES ($file_name, $byte_offset, now())
ON CONFLICT (file_name) DO UPDATE
SET byte_offset = excluded.byte_offset, updated_at = excluded.updated_at
"""

DROP_TEMP_TABLES = """
DROP TABLE IF EXISTS webhook_lines;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_batch_keys;
"""
