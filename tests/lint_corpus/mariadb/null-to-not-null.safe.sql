-- strong_migrations change_column_null
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';
