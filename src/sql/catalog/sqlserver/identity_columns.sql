-- Identity columns of those tables: restore inserts journaled values back into them with
-- IDENTITY_INSERT.
SELECT OBJECT_SCHEMA_NAME(c.object_id) AS TABLE_SCHEMA, OBJECT_NAME(c.object_id) AS TABLE_NAME, c.name AS COLUMN_NAME
FROM sys.columns AS c
WHERE c.is_identity = 1 AND UPPER(OBJECT_NAME(c.object_id)) IN (/*names*/)
ORDER BY OBJECT_SCHEMA_NAME(c.object_id), OBJECT_NAME(c.object_id), c.name
