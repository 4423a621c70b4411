-- Who holds the apply lock, for the message of a second apply.
SELECT TOP (1) s.login_name, s.host_name, s.program_name
FROM sys.dm_tran_locks AS l
INNER JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id
WHERE l.resource_type = N'APPLICATION' AND l.request_status = N'GRANT'
    AND l.resource_description LIKE N'%postclone apply%'
