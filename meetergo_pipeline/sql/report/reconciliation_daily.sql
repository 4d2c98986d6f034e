-- Webhook/API mismatches per day (analytics.webhook_reconciliation) on or after day $since,
-- by kind, summed over the tenants, with the booking events received that day for context.
SELECT
    day,
    sum(booking_events)::BIGINT AS booking_events,
    sum(events_without_api_appointment)::BIGINT AS events_without_api_appointment,
    sum(creations_without_event)::BIGINT AS creations_without_event,
    sum(cancellations_without_event)::BIGINT AS cancellations_without_event,
    sum(reschedules_without_event)::BIGINT AS reschedules_without_event,
    sum(state_disagreements)::BIGINT AS state_disagreements
FROM analytics.webhook_reconciliation
WHERE day >= $since
GROUP BY day
ORDER BY day
