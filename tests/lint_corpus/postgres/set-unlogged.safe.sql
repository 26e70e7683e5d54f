-- DBA: SET UNLOGGED / SET LOGGED rewrite the table
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events SET (fillfactor = 90);
