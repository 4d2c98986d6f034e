-- The most recent sync run: its mode, the requests it spent and the appointment rows it read.
SELECT mode, requests_spent, appointments_seen
FROM raw.sync_runs
ORDER BY finished_at DESC
LIMIT 1
