-- Database roles owned by those principals.
SELECT p.name AS OWNER, r.name
FROM sys.database_principals AS r
INNER JOIN sys.database_principals AS p ON p.principal_id = r.owning_principal_id
WHERE r.type = 'R' AND UPPER(p.name) IN (/*names*/)
ORDER BY p.name, r.name
