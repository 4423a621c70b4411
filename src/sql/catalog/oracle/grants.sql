-- Object privileges the named grantees hold on objects of the named owners. DBA_TAB_PRIVS, not
-- USER_TAB_PRIVS or ALL_TAB_PRIVS: the grants are between two other schemas, which only the
-- DBA view shows whoever connects.
SELECT GRANTEE, OWNER, TABLE_NAME, PRIVILEGE
FROM DBA_TAB_PRIVS
WHERE GRANTEE IN (/*grantees*/) AND OWNER IN (/*owners*/)
ORDER BY GRANTEE, OWNER, TABLE_NAME, PRIVILEGE
