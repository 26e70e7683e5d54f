-- squawk ban-drop-database
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE DATABASE reporting_v2;
