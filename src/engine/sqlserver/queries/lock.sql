-- The apply lock: exclusive, owned by the session (released when it closes), waiting at most
-- @P1 milliseconds. sp_getapplock returns 0 or 1 when granted, below 0 when not.
DECLARE @result INT;
EXEC @result = sp_getapplock @Resource = N'postclone apply', @LockMode = N'Exclusive', @LockOwner = N'Session', @LockTimeout = @P1;
SELECT @result AS RESULT;
