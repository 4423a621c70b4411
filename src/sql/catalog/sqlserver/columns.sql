-- Columns of those tables, in ordinal order; types are read here, never assumed. The maximum
-- length tells a (MAX) column (-1) from a bounded one; precision and scale are an exact
-- decimal's digits.
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH,
    NUMERIC_PRECISION, NUMERIC_SCALE
FROM INFORMATION_SCHEMA.COLUMNS
WHERE UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
