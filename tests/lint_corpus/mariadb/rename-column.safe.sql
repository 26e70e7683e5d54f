-- strong_migrations rename_column
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN notes TEXT;
