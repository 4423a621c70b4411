-- What the server says it is; the guard compares it with the spec.
SELECT CAST(@@SERVERNAME AS NVARCHAR(256)) AS SERVER_NAME, DB_NAME() AS DATABASE_NAME
