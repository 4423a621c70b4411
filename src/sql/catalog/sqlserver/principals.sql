-- Database principals among the names a principals_absent resource lists (and its new owner).
SELECT p.name, p.type_desc
FROM sys.database_principals AS p
WHERE UPPER(p.name) IN (/*names*/)
ORDER BY p.name
