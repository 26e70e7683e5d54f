-- squawk require-timeout-settings (MariaDB: lock_wait_timeout)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';
