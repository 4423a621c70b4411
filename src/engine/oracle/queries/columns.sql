-- Columns of those tables, in column order; types are read here, never assumed. The sixth
-- column is always NULL here: Oracle's long values have types of their own (CLOB, BLOB).
SELECT OWNER, TABLE_NAME, COLUMN_NAME, DATA_TYPE, NULLABLE, NULL AS CHARACTER_MAXIMUM_LENGTH
FROM ALL_TAB_COLUMNS
WHERE OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY OWNER, TABLE_NAME, COLUMN_ID
