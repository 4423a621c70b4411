-- Every table of the platform's schema: what the copies scan reads the text columns of.
SELECT OWNER, TABLE_NAME
FROM ALL_TABLES
WHERE OWNER = /*owner*/
ORDER BY OWNER, TABLE_NAME
