-- Webhook/API mismatches per day (analytics.webhook_reconciliation) on or after day $since,
-- by kind, with the booking events received that day for context.
SELECT
    day,
    booking_events,
    events_without_api_appointment,
    creations_without_event,
    cancellations_without_event,
    reschedules_without_event,
    state_disagreements
FROM analytics.webhook_reconciliation
WHERE day >= $since
ORDER BY day
