-- Webhook/API mismatches summed over the days on or after $since (every day when NULL).
SELECT
    coalesce(sum(events_without_api_appointment), 0),
    coalesce(sum(creations_without_event), 0),
    coalesce(sum(cancellations_without_event), 0),
    coalesce(sum(reschedules_without_event), 0),
    coalesce(sum(state_disagreements), 0),
    coalesce(sum(total_mismatches), 0)
FROM analytics.webhook_reconciliation
WHERE $since IS NULL OR day >= $since
