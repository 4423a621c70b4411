-- The platform's front-end list, where the table exists: the guard refuses a database whose
-- list names a forbidden host.
SELECT TABLE_SCHEMA, TABLE_NAME
FROM INFORMATION_SCHEMA.TABLES
WHERE TABLE_TYPE = 'BASE TABLE' AND UPPER(TABLE_NAME) = 'OSSYS_SERVER'
ORDER BY TABLE_SCHEMA
