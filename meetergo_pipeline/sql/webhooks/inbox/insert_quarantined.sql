-- PostgreSQL: refused bytes (received_at, reason, size, raw), a batch in one statement
-- (psycopg2's execute_values fills the VALUES list).
INSERT INTO meetergo_webhook_inbox_quarantine (received_at, reason, size, raw) VALUES %s
