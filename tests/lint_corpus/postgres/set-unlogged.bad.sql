-- DBA: SET UNLOGGED / SET LOGGED rewrite the table
-- expect: SS110
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events SET UNLOGGED;
