-- Write several sync-state keys in one statement: $keys and $values are parallel lists.
INSERT OR REPLACE INTO raw.sync_state SELECT unnest($keys), unnest($values), $now
