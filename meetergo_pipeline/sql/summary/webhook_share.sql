-- The webhook half of a run, for its summary: distinct booking events, appointments known
-- only from webhooks so far, and appointments whose latest state came from a webhook newer
-- than their last API read.
SELECT
    (SELECT count(*) FROM core.booking_events) AS booking_events,
    count(*) FILTER (WHERE source = 'webhook') AS webhook_only,
    count(*) FILTER (WHERE source = 'api+webhook') AS updated_by_webhook
FROM core.appointments
