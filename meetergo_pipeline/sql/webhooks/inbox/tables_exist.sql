-- PostgreSQL: whether the inbox's tables are all there (then create.sql is skipped, so a role
-- without CREATE rights can use tables made for it).
SELECT to_regclass('meetergo_webhook_inbox') IS NOT NULL
   AND to_regclass('meetergo_webhook_inbox_quarantine') IS NOT NULL
   AND to_regclass('meetergo_webhook_inbox_identity') IS NOT NULL
