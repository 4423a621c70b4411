-- Schemas owned by those principals, with how many objects each holds: an empty schema is
-- dropped, a non-empty one only handed over (dropping it would rename its objects).
SELECT p.name AS OWNER, s.name AS SCHEMA_NAME,
    (SELECT COUNT(*) FROM sys.objects AS o WHERE o.schema_id = s.schema_id) AS OBJECT_COUNT
FROM sys.schemas AS s
INNER JOIN sys.database_principals AS p ON p.principal_id = s.principal_id
WHERE UPPER(p.name) IN (/*names*/)
ORDER BY p.name, s.name
