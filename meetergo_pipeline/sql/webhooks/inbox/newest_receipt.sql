-- PostgreSQL: when the newest delivery in the inbox was received (NULL while it is empty).
SELECT received_at FROM meetergo_webhook_inbox ORDER BY id DESC LIMIT 1
