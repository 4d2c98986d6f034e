-- The quarantine of core.rejected_booking_events by reason: events, appointments, and the
-- first few appointment ids.
SELECT
    reason,
    count(*) AS events,
    count(DISTINCT appointment_id) AS appointments,
    list(DISTINCT appointment_id ORDER BY appointment_id)[1:$sample_size] AS sample_appointment_ids
FROM core.rejected_booking_events
GROUP BY reason
ORDER BY events DESC, reason
