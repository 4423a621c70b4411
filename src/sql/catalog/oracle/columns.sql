-- Columns of those tables, in column order; types are read here, never assumed. The sixth
-- column is always NULL here: Oracle's long values have types of their own (CLOB, BLOB).
-- Precision and scale are a NUMBER(p,s) column's digits.
SELECT OWNER, TABLE_NAME, COLUMN_NAME, DATA_TYPE, NULLABLE, NULL AS CHARACTER_MAXIMUM_LENGTH,
    DATA_PRECISION, DATA_SCALE
FROM ALL_TAB_COLUMNS
WHERE OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY OWNER, TABLE_NAME, COLUMN_ID
