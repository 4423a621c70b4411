-- Foreign keys from or to those tables: the referencing constraint and the key it references.
SELECT f.CONSTRAINT_NAME, f.OWNER, f.TABLE_NAME, p.OWNER, p.TABLE_NAME
FROM ALL_CONSTRAINTS f
INNER JOIN ALL_CONSTRAINTS p
    ON p.OWNER = f.R_OWNER AND p.CONSTRAINT_NAME = f.R_CONSTRAINT_NAME
WHERE f.CONSTRAINT_TYPE = 'R' AND f.OWNER = /*owner*/
    AND (UPPER(f.TABLE_NAME) IN (/*names*/) OR UPPER(p.TABLE_NAME) IN (/*names*/))
ORDER BY f.CONSTRAINT_NAME
