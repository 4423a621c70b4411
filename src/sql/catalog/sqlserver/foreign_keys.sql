-- Foreign keys from or to those tables. sys.foreign_keys rather than
-- INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS: the latter names the referenced key, not its table.
SELECT fk.name AS CONSTRAINT_NAME,
    OBJECT_SCHEMA_NAME(fk.parent_object_id) AS FROM_SCHEMA,
    OBJECT_NAME(fk.parent_object_id) AS FROM_TABLE,
    OBJECT_SCHEMA_NAME(fk.referenced_object_id) AS TO_SCHEMA,
    OBJECT_NAME(fk.referenced_object_id) AS TO_TABLE
FROM sys.foreign_keys AS fk
WHERE UPPER(OBJECT_NAME(fk.referenced_object_id)) IN (/*names*/)
    OR UPPER(OBJECT_NAME(fk.parent_object_id)) IN (/*names*/)
ORDER BY fk.name
