-- strong_migrations rename_column
-- expect: SS306
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders RENAME COLUMN note TO notes;
