-- Columns of those tables, in ordinal order; types are read here, never assumed. The maximum
-- length tells a (MAX) column (-1) from a bounded one.
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH
FROM INFORMATION_SCHEMA.COLUMNS
WHERE UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
