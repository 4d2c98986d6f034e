-- The temp relations of the ingest and the backfill, once their transaction is done with them.
DROP VIEW IF EXISTS webhook_bodies;
DROP TABLE IF EXISTS webhook_lines;
DROP TABLE IF EXISTS webhook_canonical;
DROP TABLE IF EXISTS webhook_batch_keys;
