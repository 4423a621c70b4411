-- Unique indexes of those tables, each column in key order: masking checks at plan time that
-- it gives no two rows the same key.
SELECT i.TABLE_OWNER, i.TABLE_NAME, i.INDEX_NAME, c.COLUMN_NAME, c.COLUMN_POSITION
FROM ALL_INDEXES i
INNER JOIN ALL_IND_COLUMNS c ON c.INDEX_OWNER = i.OWNER AND c.INDEX_NAME = i.INDEX_NAME
WHERE i.UNIQUENESS = 'UNIQUE' AND i.TABLE_OWNER = /*owner*/ AND UPPER(i.TABLE_NAME) IN (/*names*/)
ORDER BY i.INDEX_NAME, c.COLUMN_POSITION
