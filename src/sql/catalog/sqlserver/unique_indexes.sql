-- Unique indexes (and the unique constraints behind them) of those tables, each column in key
-- order: masking checks at plan time that it gives no two rows the same key.
SELECT OBJECT_SCHEMA_NAME(i.object_id), OBJECT_NAME(i.object_id), i.name, c.name, ic.key_ordinal
FROM sys.indexes AS i
INNER JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
INNER JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.is_unique = 1 AND UPPER(OBJECT_NAME(i.object_id)) IN (/*names*/)
ORDER BY i.name, ic.key_ordinal
