-- Triggers on those tables: updating such a table runs them (the platform's BPT triggers
-- enqueue process events).
SELECT OBJECT_SCHEMA_NAME(t.parent_id), OBJECT_NAME(t.parent_id), t.name
FROM sys.triggers AS t
WHERE UPPER(OBJECT_NAME(t.parent_id)) IN (/*names*/)
ORDER BY t.name
