-- Columns of those tables, in ordinal order; types are read here, never assumed. The maximum
-- length tells a (MAX) column (-1) from a bounded one; precision and scale are an exact
-- decimal's digits. The last column says whether the column has a default (a row inserted
-- without it is valid).
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH,
    NUMERIC_PRECISION, NUMERIC_SCALE, CASE WHEN COLUMN_DEFAULT IS NULL THEN 0 ELSE 1 END AS HAS_DEFAULT
FROM INFORMATION_SCHEMA.COLUMNS
WHERE UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
