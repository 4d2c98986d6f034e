-- The batch's usable lines as webhook_bodies(row_id, body, received_at), the input of
-- canonical_events.sql.
CREATE OR REPLACE TEMP VIEW webhook_bodies AS
SELECT line_no AS row_id, body, received_at FROM webhook_lines WHERE reason IS NULL
