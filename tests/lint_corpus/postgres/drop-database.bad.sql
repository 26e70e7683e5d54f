-- squawk ban-drop-database
-- expect: SS130
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DROP DATABASE IF EXISTS reporting;
