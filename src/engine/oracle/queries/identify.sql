-- What the server says it is: its host and database. The guard's database is the platform's
-- schema, which tells a pre-production clone from production even on the same instance.
SELECT SYS_CONTEXT('USERENV', 'SERVER_HOST'), SYS_CONTEXT('USERENV', 'DB_NAME')
FROM DUAL
