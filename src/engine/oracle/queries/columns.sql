-- Columns of those tables, in column order; types are read here, never assumed.
SELECT OWNER, TABLE_NAME, COLUMN_NAME, DATA_TYPE, NULLABLE
FROM ALL_TAB_COLUMNS
WHERE OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY OWNER, TABLE_NAME, COLUMN_ID
