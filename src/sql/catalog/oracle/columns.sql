-- Columns of those tables, in column order; types are read here, never assumed. The sixth
-- column is always NULL here: Oracle's long values have types of their own (CLOB, BLOB).
-- Precision and scale are a NUMBER(p,s) column's digits. The last column says whether the
-- column has a default (DATA_DEFAULT is a LONG: its length is read instead).
SELECT OWNER, TABLE_NAME, COLUMN_NAME, DATA_TYPE, NULLABLE, NULL AS CHARACTER_MAXIMUM_LENGTH,
    DATA_PRECISION, DATA_SCALE, CASE WHEN NVL(DEFAULT_LENGTH, 0) > 0 THEN 1 ELSE 0 END AS HAS_DEFAULT
FROM ALL_TAB_COLUMNS
WHERE OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY OWNER, TABLE_NAME, COLUMN_ID
