-- The batch's usable deliveries, and those of an event type outside meetergo's documented set.
SELECT count(*), count(*) FILTER (WHERE NOT is_known_type) FROM webhook_canonical
