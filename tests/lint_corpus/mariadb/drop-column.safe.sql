-- strong_migrations remove_column
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE import_scratch (id BIGINT PRIMARY KEY, raw TEXT);
ALTER TABLE import_scratch DROP COLUMN raw;
