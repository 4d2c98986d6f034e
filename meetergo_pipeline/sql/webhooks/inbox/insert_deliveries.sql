-- PostgreSQL: accepted deliveries (received_at, body), a batch in one statement
-- (psycopg2's execute_values fills the VALUES list); xid is the inserting transaction's.
INSERT INTO meetergo_webhook_inbox (received_at, body) VALUES %s
