-- Tables of the platform's schema whose name (upper-cased) is among the names the spec uses.
-- ALL_TABLES with the owner named, never USER_TABLES: that follows the logged-in user, not the
-- platform's schema (the runbook's Oracle observer check never matches because of it).
SELECT OWNER, TABLE_NAME
FROM ALL_TABLES
WHERE OWNER = /*owner*/ AND UPPER(TABLE_NAME) IN (/*names*/)
ORDER BY OWNER, TABLE_NAME
