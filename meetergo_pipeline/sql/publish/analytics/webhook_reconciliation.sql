-- Published analytics.webhook_reconciliation: per day, where webhooks and API reads disagree.
CREATE TABLE {{published}}.analytics.webhook_reconciliation AS
SELECT
    tenant_id,
    day,
    booking_events,
    events_without_api_appointment,
    creations_without_event,
    cancellations_without_event,
    reschedules_without_event,
    api_changes_without_event,
    state_disagreements,
    total_mismatches
FROM analytics.webhook_reconciliation;
