-- PostgreSQL: the rows after the ingest's cursor (xid, id) and below the horizon, in
-- (xid, id) order. Below the horizon no transaction is running, so no row can still appear
-- there: the cursor never passes a row that commits later. (The text of xid is named apart:
-- ORDER BY a name of the select list would sort that text, putting 1000 before 999.)
SELECT id, xid::text AS xid_text, received_at, body
FROM meetergo_webhook_inbox
WHERE (xid, id) > (%(xid)s::text::xid8, %(id)s)
  AND xid < %(horizon)s::text::xid8
ORDER BY xid, id
