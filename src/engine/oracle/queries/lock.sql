-- The apply lock: exclusive, held by the session until it ends, waiting at most :2 seconds.
-- DBMS_LOCK.REQUEST returns 0 (granted) or 4 (already held by this session) on success.
DECLARE
    handle VARCHAR2(128);
BEGIN
    DBMS_LOCK.ALLOCATE_UNIQUE('postclone apply ' || :1, handle);
    :3 := DBMS_LOCK.REQUEST(handle, DBMS_LOCK.X_MODE, :2, FALSE);
END;
