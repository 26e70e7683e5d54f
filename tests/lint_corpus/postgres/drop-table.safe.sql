-- squawk ban-drop-table; strong_migrations drop_table
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS import_scratch (id bigint PRIMARY KEY);
DROP TABLE IF EXISTS import_scratch;
