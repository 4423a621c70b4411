-- Triggers on those tables: updating such a table runs them (the platform's BPT triggers
-- enqueue process events).
SELECT TABLE_OWNER, TABLE_NAME, TRIGGER_NAME
FROM ALL_TRIGGERS
WHERE TABLE_OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY TRIGGER_NAME
