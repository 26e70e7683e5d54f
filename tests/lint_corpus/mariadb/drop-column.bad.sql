-- strong_migrations remove_column
-- expect: SS306
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders DROP COLUMN legacy_flag;
