-- DBA: SET TABLESPACE copies the table
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.01);
