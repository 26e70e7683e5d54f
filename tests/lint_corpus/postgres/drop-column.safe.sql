-- squawk ban-drop-column; strong_migrations remove_column
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS import_scratch (id bigint PRIMARY KEY, raw text);
ALTER TABLE import_scratch DROP COLUMN IF EXISTS raw;
