-- squawk require-timeout-settings (MariaDB: lock_wait_timeout)
-- expect: SS305
ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';
