-- The apply lock: exclusive, held by the session until it ends, waiting at most :lock_timeout
-- seconds. DBMS_LOCK.REQUEST returns 0 (granted) or 4 (already held by this session) on
-- success. Placeholders are bound by name: Oracle binds a PL/SQL block's placeholders by
-- position in order of first appearance, whatever their numbers, so numbered ones written out
-- of order (:1, :3, :2) took the timeout as NULL.
DECLARE
    handle VARCHAR2(128);
BEGIN
    DBMS_LOCK.ALLOCATE_UNIQUE('postclone apply ' || :lock_schema, handle);
    :lock_result := DBMS_LOCK.REQUEST(handle, DBMS_LOCK.X_MODE, :lock_timeout, FALSE);
END;
