-- Lines of the batch that are not JSON objects, with the reason (they go to the quarantine).
SELECT line_no, line, reason FROM webhook_lines WHERE reason IS NOT NULL ORDER BY line_no
