-- Objects owned explicitly by those principals (principal_id is NULL for objects that follow
-- their schema's owner).
SELECT p.name AS OWNER, SCHEMA_NAME(o.schema_id) AS SCHEMA_NAME, o.name, o.type_desc
FROM sys.objects AS o
INNER JOIN sys.database_principals AS p ON p.principal_id = o.principal_id
WHERE UPPER(p.name) IN (/*names*/)
ORDER BY p.name, SCHEMA_NAME(o.schema_id), o.name
