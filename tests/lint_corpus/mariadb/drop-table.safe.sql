-- strong_migrations drop_table (squawk ban-drop-table)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE import_scratch (id BIGINT PRIMARY KEY);
DROP TABLE import_scratch;
